package dev.lumbar.engine.backend;

import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;

/**
 * The operations networks are built from. Every backend (CPU, CUDA) implements the same set
 * on tensors that live on its device, so a model's forward is written once.
 *
 * <p>Activations are NCHW, F32. Every operation returns a new tensor that the caller owns and
 * closes; inputs are never modified. Weights are the tensors returned by {@link #upload}.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs and reports, e.g. {@code cpu (OpenBLAS)} or {@code cuda}. */
    String name();

    Device device();

    /** Places a host F32/F16/BF16 tensor on this backend's device as F32 (or the compute type). */
    Tensor upload(Tensor host);

    /** Copies a tensor of this backend to a new F32 host tensor. */
    Tensor download(Tensor tensor);

    /**
     * 2-D convolution {@code y = act(conv(x, weight) + bias)}.
     *
     * @param x      {@code [N, C, H, W]}
     * @param weight {@code [O, C / groups, kh, kw]}
     * @param bias   {@code [O]} or null
     * @return {@code [N, O, outH, outW]}
     */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec, Activation act);

    /**
     * {@code y = act(x · weightᵀ + bias)} over the last dimension, as {@code nn.Linear}.
     *
     * @param x      {@code [..., in]}
     * @param weight {@code [out, in]}
     * @param bias   {@code [out]} or null
     * @return {@code [..., out]}
     */
    Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act);

    /** Batched matrix product {@code [B, M, K] × [B, K, N] → [B, M, N]}. */
    Tensor matmul(Tensor a, Tensor b);

    /** LayerNorm over the last dimension ({@code nn.LayerNorm(C)} on {@code [..., C]}). */
    Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps);

    /** LayerNorm over the channels of an NCHW tensor at every pixel (timm's LayerNorm2d). */
    Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps);

    /** Pointwise activation. */
    Tensor activate(Tensor x, Activation act);

    /** Elementwise {@code a + b} of two tensors of the same shape. */
    Tensor add(Tensor a, Tensor b);

    /**
     * {@code x[n, c, h, w] · scale[c]} (scale {@code [C]}, e.g. ConvNeXt's layer-scale gamma)
     * or {@code x[n, c, h, w] · scale[n, c]} (scale {@code [N, C]}, e.g. a squeeze-excite gate),
     * optionally plus {@code residual} of x's shape (null for none).
     */
    Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual);

    /**
     * Squeeze-and-excite as timm's {@code SqueezeExcite}: mean over H·W, 1×1 conv reduce with
     * {@code act}, 1×1 conv expand, sigmoid gate, multiply.
     *
     * @param reduceWeight {@code [Cr, C, 1, 1]}, expandWeight {@code [C, Cr, 1, 1]}
     */
    Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act);

    /**
     * The squeeze-and-excite gate alone: {@code sigmoid(expand(act(reduce(mean over H·W of x))))},
     * {@code [N, C]}. With {@link #gatedConv2d} it computes what {@link #squeezeExcite} followed
     * by a convolution computes, but lets the backend fold the scaling into the product.
     */
    default Tensor squeezeExciteGate(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        int c = x.size(1);
        int reduced = reduceWeight.size(0);
        try (Tensor pooled = globalAvgPool(x);
                Tensor reduceW = reduceWeight.reshape(reduced, c);
                Tensor expandW = expandWeight.reshape(c, reduced);
                Tensor hidden = linear(pooled, reduceW, reduceBias, act)) {
            return linear(hidden, expandW, expandBias, Activation.SIGMOID);
        }
    }

    /**
     * A convolution and the squeeze-excite gate of its output: {@code y = conv2d(x, weight,
     * bias, spec, act)} and {@code squeezeExciteGate(y, reduceWeight, reduceBias,
     * expandWeight, expandBias, gateAct)}. Backends may pool y as they write it rather than
     * read all of it again.
     */
    default GatedActivations conv2dWithGate(Tensor x, Tensor weight, Tensor bias,
            Conv2dSpec spec, Activation act, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation gateAct) {
        Tensor y = conv2d(x, weight, bias, spec, act);
        try {
            return new GatedActivations(y, squeezeExciteGate(y, reduceWeight, reduceBias,
                    expandWeight, expandBias, gateAct));
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }

    /**
     * {@code act(conv(x ⊙ gate) + bias) + residual}: a convolution whose output is added to
     * a tensor of its shape, the shortcut of a residual block; {@code gate} ({@code [N, C]}, as
     * for {@link #gatedConv2d}) is null for none. Backends may add the residual as they write
     * the convolution's output instead of in a pass of its own.
     */
    default Tensor conv2dAdd(Tensor x, Tensor gate, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act, Tensor residual) {
        try (Tensor y = gate == null ? conv2d(x, weight, bias, spec, act)
                : gatedConv2d(x, gate, weight, bias, spec, act)) {
            return add(y, residual);
        }
    }

    /**
     * {@code conv2d(scaleChannels(x, gate), ...)} for a gate {@code [N, C]}: a convolution of a
     * squeeze-excited input. Backends may apply the gate on the way into the product instead
     * of in a pass of its own.
     */
    default Tensor gatedConv2d(Tensor x, Tensor gate, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act) {
        try (Tensor scaled = scaleChannels(x, gate, null)) {
            return conv2d(scaled, weight, bias, spec, act);
        }
    }

    /**
     * A convolution and a projection of its output, EfficientNet's fused MBConv without a
     * gate (timm's {@code EdgeResidual}): {@code project(expand(x))}, plus {@code residual}
     * when not null (x itself, where the block keeps its shape). Backends may keep the
     * expanded activations per block of pixels instead of writing them out whole.
     */
    default Tensor edgeResidual(Tensor x, InvertedResidual.Conv expand,
            InvertedResidual.Conv project, Tensor residual) {
        try (Tensor expanded = conv2d(x, expand.weight(), expand.bias(), expand.spec(),
                expand.act())) {
            return residual == null
                    ? conv2d(expanded, project.weight(), project.bias(), project.spec(),
                            project.act())
                    : conv2dAdd(expanded, null, project.weight(), project.bias(),
                            project.spec(), project.act(), residual);
        }
    }

    /**
     * An inverted-residual block with a squeeze-excite gate, EfficientNet's MBConv:
     * {@code h = depthwise(expand(x))}, then {@code project(h ⊙ gate(h))}, plus
     * {@code residual} when not null (x itself, where the block keeps its shape). The
     * projection's activation must be identity. Backends may keep the expanded activations
     * in their own layout between the block's layers.
     */
    default Tensor invertedResidual(Tensor x, InvertedResidual block, Tensor residual) {
        InvertedResidual.Conv expand = block.expand();
        InvertedResidual.Conv depthwise = block.depthwise();
        InvertedResidual.Gate gate = block.gate();
        InvertedResidual.Conv project = block.project();
        if (project.act() != Activation.IDENTITY) {
            throw new IllegalArgumentException("invertedResidual: the projection's activation "
                    + "must be identity, got " + project.act());
        }
        GatedActivations gated;
        try (Tensor expanded = conv2d(x, expand.weight(), expand.bias(), expand.spec(),
                expand.act())) {
            gated = conv2dWithGate(expanded, depthwise.weight(), depthwise.bias(),
                    depthwise.spec(), depthwise.act(), gate.reduceWeight(), gate.reduceBias(),
                    gate.expandWeight(), gate.expandBias(), gate.act());
        }
        try (gated) {
            return residual == null
                    ? gatedConv2d(gated.activations(), gated.gate(), project.weight(),
                            project.bias(), project.spec(), Activation.IDENTITY)
                    : conv2dAdd(gated.activations(), gated.gate(), project.weight(),
                            project.bias(), project.spec(), Activation.IDENTITY, residual);
        }
    }

    /**
     * An inverted-bottleneck MLP over channels with layer scale and residual, as in a ConvNeXt
     * block: {@code residual + scale ⊙ conv1×1(act(conv1×1(x, w1, b1)), w2, b2)}, where
     * {@code w1} is {@code [Ch, C, 1, 1]}, {@code w2} {@code [Co, Ch, 1, 1]}, {@code scale}
     * {@code [Co]} and {@code residual} x's batch with Co channels; biases, scale and residual
     * may each be null. Backends may keep the hidden activations in their own layout.
     */
    default Tensor channelMlp(Tensor x, Tensor w1, Tensor b1, Activation act, Tensor w2,
            Tensor b2, Tensor scale, Tensor residual) {
        if (w1.rank() != 4 || w1.dim(2) != 1 || w1.dim(3) != 1) {
            // a wider kernel would otherwise run unpadded and shrink the image
            throw new IllegalArgumentException("channelMlp: first weight "
                    + java.util.Arrays.toString(w1.shape()) + " is not [Ch, C, 1, 1]");
        }
        Conv2dSpec pointwise = Conv2dSpec.symmetric(1, 0, 1, 1);
        try (Tensor hidden = conv2d(x, w1, b1, pointwise, act)) {
            Tensor projected = conv2d(hidden, w2, b2, pointwise, Activation.IDENTITY);
            if (scale == null && residual == null) {
                return projected;
            }
            try (projected) {
                if (scale == null) {
                    return add(projected, residual);
                }
                return scaleChannels(projected, scale, residual);
            }
        }
    }

    /**
     * {@link #channelMlp} of {@code layerNormChannels(x, gamma, beta, eps)}: the rest of a
     * ConvNeXt block after its depthwise convolution. Backends may normalize x as they read it
     * rather than write the normalized tensor out and read it back.
     */
    default Tensor normalizedChannelMlp(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        try (Tensor normed = layerNormChannels(x, gamma, beta, eps)) {
            return channelMlp(normed, w1, b1, act, w2, b2, scale, residual);
        }
    }

    /**
     * {@link #normalizedChannelMlp} that takes the residual over: the caller hands it in, and
     * neither uses nor closes it afterwards, whether the call succeeds or fails. The result may
     * be the residual itself with the block's output added onto it in place. A ConvNeXt
     * block's input is needed only for that sum, so its memory can take the output: each sum
     * is then written where its residual was just read, rather than into a new tensor whose
     * memory must first be fetched. This default returns a new tensor and closes the residual.
     */
    default Tensor normalizedChannelMlpOver(Tensor x, Tensor gamma, Tensor beta, float eps,
            Tensor w1, Tensor b1, Activation act, Tensor w2, Tensor b2, Tensor scale,
            Tensor residual) {
        try (residual) {
            return normalizedChannelMlp(x, gamma, beta, eps, w1, b1, act, w2, b2, scale,
                    residual);
        }
    }

    /** Mean over H and W: {@code [N, C, H, W] → [N, C]}. */
    Tensor globalAvgPool(Tensor x);

    /** Max over H and W: {@code [N, C, H, W] → [N, C]}. */
    Tensor globalMaxPool(Tensor x);

    /** Softmax over the last dimension. */
    Tensor softmax(Tensor x);

    @Override
    void close();
}
