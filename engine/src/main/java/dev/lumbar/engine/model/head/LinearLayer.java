package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The PyTorch {@code nn.Linear} a head ends in, {@code y = x Wᵀ + b}, under its state-dict
 * prefix ({@code fc} unless the card says otherwise), with its weights on the backend they were
 * loaded onto.
 */
final class LinearLayer implements AutoCloseable {

    private final String prefix;
    private final int outFeatures;
    private final int inFeatures;

    private HeadWeights weights;
    private Backend backend;
    private Tensor weight;  // [out, in]
    private Tensor bias;    // [out]

    LinearLayer(String prefix, int outFeatures, int inFeatures) {
        this.prefix = prefix;
        this.outFeatures = outFeatures;
        this.inFeatures = inFeatures;
    }

    /** {@code <prefix>.weight} and {@code <prefix>.bias} with their shapes. */
    Map<String, long[]> expectedTensors() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put(prefix + ".weight", new long[] {outFeatures, inFeatures});
        shapes.put(prefix + ".bias", new long[] {outFeatures});
        return shapes;
    }

    /** Checks and uploads the layer's tensors, freeing any it held before. */
    void load(Map<String, Tensor> tensors, Backend target) {
        close();
        HeadWeights taken = new HeadWeights(tensors, expectedTensors());
        try {
            weight = taken.upload(target, prefix + ".weight");
            bias = taken.upload(target, prefix + ".bias");
            taken.finishLoading();
        } catch (RuntimeException e) {
            taken.close();
            throw e;
        }
        weights = taken;
        backend = target;
    }

    boolean loaded() {
        return weights != null;
    }

    /** The backend the weights live on; every input must live there too. */
    Backend backend() {
        return backend;
    }

    /** {@code act(x Wᵀ + b)} for {@code x} of {@code [..., in]}, on the backend. */
    Tensor apply(Tensor x, Activation act) {
        return backend.linear(x, weight, bias, act);
    }

    @Override
    public void close() {
        if (weights != null) {
            weights.close();
            weights = null;
        }
        backend = null;
    }
}
