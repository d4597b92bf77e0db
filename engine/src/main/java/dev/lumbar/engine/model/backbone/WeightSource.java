package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.model.BatchNormFolding;
import dev.lumbar.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Fetches a backbone's tensors by state-dict name, checks them against the expected shapes,
 * folds BatchNorm where asked, and uploads them. Every uploaded tensor is added to the owner's
 * list so that the backbone can free them all in {@code close()}.
 */
final class WeightSource {

    private final String arch;
    private final Function<String, Tensor> weights;
    private final Map<String, long[]> expected;
    private final Backend backend;
    private final List<Tensor> uploaded;

    WeightSource(String arch, Function<String, Tensor> weights, Map<String, long[]> expected,
            Backend backend, List<Tensor> uploaded) {
        this.arch = arch;
        this.weights = weights;
        this.expected = expected;
        this.backend = backend;
        this.uploaded = uploaded;
    }

    /** Checks every expected tensor up front so that a bad file fails before any upload. */
    void checkAll() {
        for (String key : expected.keySet()) {
            host(key);
        }
    }

    /** The tensor {@code key}, uploaded as is. */
    Tensor upload(String key) {
        return keep(backend.upload(host(key)));
    }

    /** The tensor {@code key} viewed with another shape of the same size, e.g. a Linear
     *  weight {@code [out, in]} as a 1×1 convolution weight {@code [out, in, 1, 1]}. */
    Tensor upload(String key, long... shape) {
        return keep(backend.upload(host(key).reshape(shape)));
    }

    /**
     * The convolution {@code convKey} (no bias) followed by the BatchNorm at {@code bnPrefix},
     * folded into one convolution with a bias by {@link BatchNormFolding}.
     *
     * @return the folded {@code weight} and {@code bias}, uploaded
     */
    Tensor[] convWithBatchNorm(String convKey, String bnPrefix, double eps) {
        try (BatchNormFolding.Folded folded = BatchNormFolding.fold(host(convKey), null,
                host(bnPrefix + ".weight"), host(bnPrefix + ".bias"),
                host(bnPrefix + ".running_mean"), host(bnPrefix + ".running_var"), eps)) {
            return new Tensor[] {keep(backend.upload(folded.weight())),
                keep(backend.upload(folded.bias()))};
        }
    }

    private Tensor keep(Tensor deviceTensor) {
        uploaded.add(deviceTensor);
        return deviceTensor;
    }

    private Tensor host(String key) {
        long[] shape = expected.get(key);
        if (shape == null) {
            throw new IllegalStateException(arch + " has no tensor named '" + key + "'");
        }
        Tensor tensor = weights.apply(key);
        if (tensor == null) {
            throw new IllegalArgumentException("weights for " + arch + " lack tensor '" + key
                    + "' " + Arrays.toString(shape));
        }
        if (!Arrays.equals(tensor.shape(), shape)) {
            throw new IllegalArgumentException("tensor '" + key + "' has shape "
                    + Arrays.toString(tensor.shape()) + " but " + arch + " expects "
                    + Arrays.toString(shape));
        }
        // LIMITATION: F64 weights are refused with this message instead of being narrowed;
        // convert the checkpoint to F32 first.
        switch (tensor.dtype()) {
            case F32, F16, BF16 -> { }
            default -> throw new IllegalArgumentException("tensor '" + key + "' is "
                    + tensor.dtype() + "; weights must be F32, F16 or BF16");
        }
        return tensor;
    }
}
