package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Takes named host tensors, checks them against the shapes a head declared, and keeps what was
 * uploaded so that one {@code close()} frees it all.
 */
final class HeadWeights implements AutoCloseable {

    private Map<String, Tensor> weights;
    private final Map<String, long[]> expected;
    private final List<Tensor> uploaded = new ArrayList<>();

    HeadWeights(Map<String, Tensor> weights, Map<String, long[]> expected) {
        this.weights = weights;
        this.expected = expected;
        for (Map.Entry<String, long[]> entry : expected.entrySet()) {
            host(entry.getKey());
        }
    }

    /** The host tensor called {@code name}, after checking its shape. */
    Tensor host(String name) {
        long[] shape = expected.get(name);
        if (shape == null) {
            throw new IllegalStateException("tensor '" + name + "' was not declared");
        }
        Tensor tensor = weights.get(name);
        if (tensor == null) {
            throw new IllegalArgumentException("head weights lack tensor '" + name
                    + "' (expected shape " + Arrays.toString(shape) + ")");
        }
        if (!Arrays.equals(tensor.shape(), shape)) {
            throw new IllegalArgumentException("head tensor '" + name + "' has shape "
                    + Arrays.toString(tensor.shape()) + ", expected " + Arrays.toString(shape));
        }
        if (!tensor.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("head tensor '" + name + "' is " + tensor.dtype()
                    + ", expected a floating-point type");
        }
        return tensor;
    }

    /** The tensor called {@code name} as F32 values on the heap. */
    float[] floats(String name) {
        return host(name).toFloatArray();
    }

    /** The tensor called {@code name} placed on the backend; freed by {@link #close()}. */
    Tensor upload(Backend backend, String name) {
        return keep(backend.upload(host(name)));
    }

    /** Places {@code values} of {@code shape} on the backend; freed by {@link #close()}. */
    Tensor upload(Backend backend, float[] values, long... shape) {
        try (Tensor host = Tensor.of(values, shape)) {
            return keep(backend.upload(host));
        }
    }

    /** Drops the references to the host tensors, which their lender may now free. */
    void finishLoading() {
        weights = Map.of();
    }

    private Tensor keep(Tensor tensor) {
        uploaded.add(tensor);
        return tensor;
    }

    @Override
    public void close() {
        for (Tensor tensor : uploaded) {
            tensor.close();
        }
        uploaded.clear();
    }
}
