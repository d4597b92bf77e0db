package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.random;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Uploads weights until their packed strips would pass the heap share kept for them, in a JVM
 * whose heap is small enough for that to take a few weights: the first three are kept, the
 * rest are packed on every call, and every convolution, gated or not, before and after the
 * share is reached, gives the bits of the same weight not uploaded. Prints {@code kept} and
 * the count, then {@code ok}; a failed check ends it with a message and a non-zero exit. The
 * child process of {@link PackedWeightsShareTest}.
 */
public final class PackedWeightsShareCheck {

    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);

    private PackedWeightsShareCheck() {
    }

    public static void main(String[] args) {
        long share = Runtime.getRuntime().maxMemory() / 4;
        int k = 1024;
        // rows a multiple of the tile's, so that the packed strips are exactly rows · k floats
        int rows = (int) (share / 3.5 / ((long) k * Float.BYTES)) / PixelProducts.MR
                * PixelProducts.MR;
        SplittableRandom random = new SplittableRandom(103);
        Tensor[] weights = new Tensor[5];
        Tensor[] uploaded = new Tensor[5];
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA);
                Tensor x = random(random, -1, 1, 2, k, 2, 2);
                Tensor gate = random(random, 0, 1, 2, k)) {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < weights.length; i++) {
                    if (weights[i] == null) {
                        weights[i] = random(random, -0.1, 0.1, rows, k, 1, 1);
                        uploaded[i] = cpu.upload(weights[i]);
                    }
                    try (Tensor a = cpu.conv2d(x, weights[i], null, POINTWISE,
                            Activation.SILU);
                            Tensor e = cpu.conv2d(x, uploaded[i], null, POINTWISE,
                                    Activation.SILU);
                            Tensor ga = cpu.gatedConv2d(x, gate, weights[i], null, POINTWISE,
                                    Activation.IDENTITY);
                            Tensor ge = cpu.gatedConv2d(x, gate, uploaded[i], null, POINTWISE,
                                    Activation.IDENTITY)) {
                        String what = "weight " + i + " of " + rows + " × " + k + ", round "
                                + round;
                        if (!Arrays.equals(a.toFloatArray(), e.toFloatArray())
                                || !Arrays.equals(ga.toFloatArray(), ge.toFloatArray())) {
                            throw new AssertionError(what + ": not the bits of the weight "
                                    + "packed on every call");
                        }
                    }
                }
            }
            System.out.println("kept " + cpu.keptWeights());
        } finally {
            for (int i = 0; i < weights.length; i++) {
                if (weights[i] != null) {
                    weights[i].close();
                    uploaded[i].close();
                }
            }
        }
        System.out.println("ok");
    }
}
