package dev.lumbar.bench;

import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.SplittableRandom;

/** Helpers shared by the benchmarks: shape strings, backends, random tensors. */
final class Shapes {

    private Shapes() {
    }

    /** {@code "25x384x96x1024"} → {@code [25, 384, 96, 1024]}. */
    static int[] parse(String shape) {
        String[] parts = shape.split("x");
        int[] dims = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            dims[i] = Integer.parseInt(parts[i]);
        }
        return dims;
    }

    static CpuBackend backend(String gemm, int threads) {
        return new CpuBackend(threads, switch (gemm) {
            case "java" -> CpuBackend.GemmChoice.JAVA;
            case "openblas" -> CpuBackend.GemmChoice.OPENBLAS;
            default -> throw new IllegalArgumentException("gemm must be java or openblas: " + gemm);
        });
    }

    static Tensor random(long seed, long... shape) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return Tensor.of(values, shape);
    }

    /**
     * A random weight {@code [outs, fan-in...]}, uniform with variance 1 / fan-in, as a
     * network's weights are scaled. Where activations feed further products, weights of
     * {@link #random}'s range let the activations grow until SiLU returns values near the
     * smallest normal float, and products of those are subnormal, which the FPU handles some
     * hundred times slower: an MBConv block with such weights timed 25 % slower than with
     * these, on 0.4 % subnormal inputs to its projection.
     */
    static Tensor weight(long seed, long... shape) {
        long fanIn = 1;
        for (int i = 1; i < shape.length; i++) {
            fanIn *= shape[i];
        }
        double scale = Math.sqrt(3.0 / Math.max(1, fanIn));
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return Tensor.of(values, shape);
    }
}
