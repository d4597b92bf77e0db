package dev.lumbar.engine.batch;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;

/**
 * A backend that checks the running study's {@link StudyDeadline} before every operation and
 * otherwise passes each call to the backend it wraps. An operation already started always
 * completes, so a cancelled study leaves the wrapped backend (and the CPU worker pool) as it
 * found it; the caller's try-with-resources blocks free the tensors as the timeout unwinds.
 * Closing this wrapper does not close the wrapped backend, which its opener owns.
 */
public final class DeadlineBackend implements Backend {

    private final Backend inner;

    public DeadlineBackend(Backend inner) {
        this.inner = inner;
    }

    /** The backend doing the work. */
    public Backend inner() {
        return inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Device device() {
        return inner.device();
    }

    @Override
    public Tensor upload(Tensor host) {
        StudyDeadline.checkCurrent();
        return inner.upload(host);
    }

    @Override
    public Tensor download(Tensor tensor) {
        StudyDeadline.checkCurrent();
        return inner.download(tensor);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec, Activation act) {
        StudyDeadline.checkCurrent();
        return inner.conv2d(x, weight, bias, spec, act);
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
        StudyDeadline.checkCurrent();
        return inner.linear(x, weight, bias, act);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        StudyDeadline.checkCurrent();
        return inner.matmul(a, b);
    }

    @Override
    public Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
        StudyDeadline.checkCurrent();
        return inner.layerNormLastDim(x, gamma, beta, eps);
    }

    @Override
    public Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
        StudyDeadline.checkCurrent();
        return inner.layerNormChannels(x, gamma, beta, eps);
    }

    @Override
    public Tensor activate(Tensor x, Activation act) {
        StudyDeadline.checkCurrent();
        return inner.activate(x, act);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        StudyDeadline.checkCurrent();
        return inner.add(a, b);
    }

    @Override
    public Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
        StudyDeadline.checkCurrent();
        return inner.scaleChannels(x, scale, residual);
    }

    @Override
    public Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        StudyDeadline.checkCurrent();
        return inner.squeezeExcite(x, reduceWeight, reduceBias, expandWeight, expandBias, act);
    }

    @Override
    public Tensor squeezeExciteGate(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        StudyDeadline.checkCurrent();
        return inner.squeezeExciteGate(x, reduceWeight, reduceBias, expandWeight, expandBias,
                act);
    }

    @Override
    public GatedActivations conv2dWithGate(Tensor x, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation gateAct) {
        StudyDeadline.checkCurrent();
        return inner.conv2dWithGate(x, weight, bias, spec, act, reduceWeight, reduceBias,
                expandWeight, expandBias, gateAct);
    }

    @Override
    public Tensor gatedConv2d(Tensor x, Tensor gate, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act) {
        StudyDeadline.checkCurrent();
        return inner.gatedConv2d(x, gate, weight, bias, spec, act);
    }

    @Override
    public Tensor conv2dAdd(Tensor x, Tensor gate, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act, Tensor residual) {
        StudyDeadline.checkCurrent();
        return inner.conv2dAdd(x, gate, weight, bias, spec, act, residual);
    }

    @Override
    public Tensor edgeResidual(Tensor x, InvertedResidual.Conv expand,
            InvertedResidual.Conv project, Tensor residual) {
        StudyDeadline.checkCurrent();
        return inner.edgeResidual(x, expand, project, residual);
    }

    @Override
    public Tensor invertedResidual(Tensor x, InvertedResidual block, Tensor residual) {
        StudyDeadline.checkCurrent();
        return inner.invertedResidual(x, block, residual);
    }

    @Override
    public Tensor channelMlp(Tensor x, Tensor w1, Tensor b1, Activation act, Tensor w2,
            Tensor b2, Tensor scale, Tensor residual) {
        StudyDeadline.checkCurrent();
        return inner.channelMlp(x, w1, b1, act, w2, b2, scale, residual);
    }

    @Override
    public Tensor normalizedChannelMlp(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        StudyDeadline.checkCurrent();
        return inner.normalizedChannelMlp(x, gamma, beta, eps, w1, b1, act, w2, b2, scale,
                residual);
    }

    @Override
    public Tensor normalizedChannelMlpOver(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        try {
            StudyDeadline.checkCurrent();
        } catch (RuntimeException e) {
            // the residual was handed over, whether the call runs or not
            if (residual != null) {
                residual.close();
            }
            throw e;
        }
        return inner.normalizedChannelMlpOver(x, gamma, beta, eps, w1, b1, act, w2, b2, scale,
                residual);
    }

    @Override
    public Tensor globalAvgPool(Tensor x) {
        StudyDeadline.checkCurrent();
        return inner.globalAvgPool(x);
    }

    @Override
    public Tensor globalMaxPool(Tensor x) {
        StudyDeadline.checkCurrent();
        return inner.globalMaxPool(x);
    }

    @Override
    public Tensor softmax(Tensor x) {
        StudyDeadline.checkCurrent();
        return inner.softmax(x);
    }

    @Override
    public void close() {
        // the wrapped backend belongs to whoever opened it
    }
}
