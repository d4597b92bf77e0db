package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The SiLU and sigmoid loops carry their own copy of {@link VectorMath#logisticExp}: each
 * lane must give the bits of the scalar form built on it, with a bias per
 * call and a bias per column, over masked tails and special values.
 */
class ActivationBitsTest {

    private static final float[] SPECIAL = {
        0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-30f, -1e-30f, 0.5f,
        -0.5f, 1f, -1f, 16f, -16f, 87.5f, -87.5f, 88.7229f, -88.7229f, 89f, -89f, 103.9f,
        -103.9f, 104f, -104f, 200f, -200f, Float.MAX_VALUE, -Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};

    /** Wide values, values near zero, special ones and any bit pattern. */
    private static float value(SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> (float) (random.nextDouble() * 240 - 120);
            case 1 -> (float) (random.nextDouble() * 16 - 8);
            case 2 -> SPECIAL[random.nextInt(SPECIAL.length)];
            default -> Float.intBitsToFloat(random.nextInt());
        };
    }

    private static float silu(float x) {
        return x / (VectorMath.logisticExp(x) + 1f);
    }

    private static float sigmoid(float x) {
        return 1f / (VectorMath.logisticExp(x) + 1f);
    }

    @Test
    void siluAndSigmoidLanesEqualTheScalarFormBitForBit() {
        long seed = 20261204L;
        SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 200; round++) {
            int count = 1 + random.nextInt(5 * Pointwise.L);
            float[] x = new float[count];
            for (int i = 0; i < count; i++) {
                x[i] = value(random);
            }
            float bias = round % 3 == 0 ? 0f : (float) (random.nextDouble() * 4 - 2);
            int width = 1 + random.nextInt(count);
            int rows = count / width;
            float[] columnBias = new float[width];
            for (int j = 0; j < width; j++) {
                columnBias[j] = (float) (random.nextDouble() * 4 - 2);
            }
            for (Activation act : new Activation[] {Activation.SILU, Activation.SIGMOID}) {
                try (Tensor in = Tensor.of(x, count);
                        Tensor out = Tensor.zeros(count);
                        Tensor matrix = Tensor.of(x, count);
                        Tensor biases = Tensor.of(columnBias, width)) {
                    Pointwise.biasActivate(in.segment(), 0, out.segment(), 0, count, bias, act);
                    Pointwise.columnBiasActivate(matrix.segment(), 0, rows, width,
                            biases.segment(), act);
                    for (int i = 0; i < count; i++) {
                        float z = x[i] + bias;
                        float want = act == Activation.SILU ? silu(z) : sigmoid(z);
                        assertEquals(Float.floatToIntBits(want),
                                Float.floatToIntBits(out.getFloat(i)), act + "(" + x[i] + " + "
                                        + bias + ") lane of " + count + ", seed " + seed);
                        if (i < rows * width) {
                            float zc = x[i] + 0f + columnBias[i % width];
                            float wantColumn = act == Activation.SILU ? silu(zc) : sigmoid(zc);
                            assertEquals(Float.floatToIntBits(wantColumn),
                                    Float.floatToIntBits(matrix.getFloat(i)), act + "(" + x[i]
                                            + " + column bias " + columnBias[i % width] + ")");
                        }
                    }
                }
            }
        }
    }

    /**
     * The depthwise epilogue of the channel-blocked inverted residuals: SiLU from a heap
     * array with the mean of each lane, against the scalar form and a plain sum of the
     * activated vectors.
     */
    @Test
    void siluWithMeansGivesTheBitsOfSiluThenASumOfItsVectors() {
        SplittableRandom random = new SplittableRandom(20261205L);
        int lanes = Pointwise.L;
        for (int round = 0; round < 100; round++) {
            int vectors = 1 + random.nextInt(12);
            int count = vectors * lanes;
            float[] x = new float[count];
            for (int i = 0; i < count; i++) {
                x[i] = value(random);
            }
            float inverse = 1f / vectors;
            try (Tensor out = Tensor.zeros(count);
                    Tensor means = Tensor.zeros(lanes)) {
                Pointwise.siluWithMeans(x, count, out.segment(), 0, means.segment(), 0,
                        inverse);
                float[] sum = new float[lanes];
                for (int i = 0; i < count; i++) {
                    float want = silu(x[i] + 0f);
                    assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(
                            out.getFloat(i)), "SiLU(" + x[i] + ") in round " + round);
                    sum[i % lanes] += want;
                }
                for (int j = 0; j < lanes; j++) {
                    assertEquals(Float.floatToIntBits(sum[j] * inverse),
                            Float.floatToIntBits(means.getFloat(j)), "mean of lane " + j);
                }
            }
        }
    }

    /**
     * The inverted residuals' depthwise convolution takes the expansion's SiLU as it copies
     * rows in ({@code siluIntoArray}), where the tile epilogue took it before: both give the
     * bits of the scalar form with no bias, at any offset into the array, leaving the rest
     * of the array as it was.
     */
    @Test
    void siluOnTheDepthwiseCopyGivesTheBitsOfTheTileEpilogue() {
        SplittableRandom random = new SplittableRandom(20261207L);
        int row = 2 * Pointwise.L;
        for (int round = 0; round < 100; round++) {
            int rows = 1 + random.nextInt(6);
            int count = rows * row;
            float[] x = new float[count];
            for (int i = 0; i < count; i++) {
                x[i] = value(random);
            }
            int at = random.nextInt(3 * Pointwise.L);
            float[] copied = new float[at + count + Pointwise.L];
            java.util.Arrays.fill(copied, 7f);
            try (Tensor in = Tensor.of(x, count); Tensor tile = Tensor.of(x, count)) {
                Pointwise.siluIntoArray(in.segment(), 0, copied, at, count);
                Pointwise.tileBiasActivate(tile.segment(), 0, tile.segment(), 0,
                        (long) row * Float.BYTES, rows, null, 0, Activation.SILU);
                for (int i = 0; i < count; i++) {
                    int bits = Float.floatToIntBits(silu(x[i] + 0f));
                    assertEquals(bits, Float.floatToIntBits(copied[at + i]),
                            "SiLU(" + x[i] + ") copied, round " + round);
                    assertEquals(bits, Float.floatToIntBits(tile.getFloat(i)),
                            "SiLU(" + x[i] + ") in the tile, round " + round);
                }
                for (int i = 0; i < at; i++) {
                    assertEquals(7f, copied[i], "before the copy");
                }
                for (int i = at + count; i < copied.length; i++) {
                    assertEquals(7f, copied[i], "after the copy");
                }
            }
        }
    }

    /**
     * The register tiles' epilogue ({@code tileBiasActivate}, whose SiLU and GELU run a row's
     * two vectors side by side) gives each row the bits of the run loop with that row's bias:
     * in place and into rows a stride apart, with a bias per row and none, over special
     * values.
     */
    @Test
    void tileEpilogueGivesTheBitsOfTheRunLoopRowByRow() {
        SplittableRandom random = new SplittableRandom(20261206L);
        int row = 2 * Pointwise.L;
        for (Activation act : Activation.values()) {
            for (int round = 0; round < 60; round++) {
                int rows = 1 + random.nextInt(8);
                int stride = row + (round % 2 == 0 ? 0 : Pointwise.L * (1 + random.nextInt(3)));
                boolean inPlace = stride == row && round % 4 == 0;
                float[] x = new float[rows * row];
                for (int i = 0; i < x.length; i++) {
                    x[i] = value(random);
                }
                float[] rowBias = new float[rows];
                for (int r = 0; r < rows; r++) {
                    rowBias[r] = (float) (random.nextDouble() * 4 - 2);
                }
                boolean withBias = round % 3 != 0;
                try (Tensor in = Tensor.of(x, x.length);
                        Tensor source = Tensor.of(x, x.length);
                        Tensor out = Tensor.zeros(rows * stride);
                        Tensor biases = Tensor.of(rowBias, rows);
                        Tensor want = Tensor.zeros(row)) {
                    Tensor dst = inPlace ? in : out;
                    Pointwise.tileBiasActivate(in.segment(), 0, dst.segment(), 0,
                            (long) stride * Float.BYTES, rows,
                            withBias ? biases.segment() : null, 0, act);
                    for (int r = 0; r < rows; r++) {
                        Pointwise.biasActivate(source.segment(),
                                (long) r * row * Float.BYTES, want.segment(), 0, row,
                                withBias ? rowBias[r] : 0f, act);
                        for (int i = 0; i < row; i++) {
                            assertEquals(Float.floatToIntBits(want.getFloat(i)),
                                    Float.floatToIntBits(dst.getFloat(r * stride + i)),
                                    act + "(" + x[r * row + i] + " + " + rowBias[r]
                                            + "), row " + r + " of " + rows + ", round "
                                            + round);
                        }
                    }
                }
            }
        }
    }
}
