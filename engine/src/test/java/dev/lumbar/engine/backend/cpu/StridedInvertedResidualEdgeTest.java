package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.InvertedResidualEdgeTest.kinds;
import static dev.lumbar.engine.backend.cpu.InvertedResidualEdgeTest.poke;
import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.backend.cpu.InvertedResidualEdgeTest.Blk;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The channel-blocked inverted-residual path with a depthwise convolution of stride 2 both
 * ways ({@link Convolutions#channelBlockRowsByTwo}): every input side from 1 to 20, odd and
 * even, so that output rows are rarely whole groups of four pixels; square and non-square
 * kernels; symmetric, TensorFlow 'SAME', zero, lopsided and larger-than-the-kernel padding;
 * batches whose output pixels straddle register tiles; every activation and missing biases;
 * NaN and infinity; uploaded weights; 1 to 7 workers and several callers. Each against the
 * double-precision reference and the backend's own NCHW calls. Blocks strided one way only
 * do not fit the blocked path and give what the NCHW calls give.
 */
class StridedInvertedResidualEdgeTest {

    /** Largest error over the largest reference magnitude, as the other block tests use. */
    private static final double TOLERANCE = 2e-5;

    /** {kh, kw}: square, non-square both ways, and 1×1 (reads only every second pixel). */
    private static final int[][] KERNELS = {
        {3, 3}, {5, 5}, {7, 7}, {1, 3}, {3, 1}, {3, 5}, {5, 3}, {1, 1},
    };

    /** The padding arrangements tried for a kernel and an input: {top, bottom, left, right}. */
    static List<int[]> paddings(int h, int w, int kh, int kw) {
        List<int[]> out = new ArrayList<>();
        // PyTorch's symmetric padding, (k - 1) / 2 on every side
        out.add(new int[] {(kh - 1) / 2, (kh - 1) / 2, (kw - 1) / 2, (kw - 1) / 2});
        // TensorFlow's 'SAME': the odd row and column of padding below and to the right
        int padH = Math.max((h + 1) / 2 * 2 - 2 + kh - h, 0);
        int padW = Math.max((w + 1) / 2 * 2 - 2 + kw - w, 0);
        out.add(new int[] {padH / 2, padH - padH / 2, padW / 2, padW - padW / 2});
        // 'VALID': none at all
        out.add(new int[] {0, 0, 0, 0});
        // all of it on one side, then all on the other
        out.add(new int[] {kh - 1, 0, 0, kw - 1});
        out.add(new int[] {0, kh - 1, kw - 1, 0});
        // more than the kernel reaches: whole output rows and columns lie in the padding
        out.add(new int[] {kh + 1, kh, kw, kw + 2});
        return out;
    }

    static Conv2dSpec strided(int[] pad, int strideH, int strideW, int hidden) {
        return new Conv2dSpec(strideH, strideW, pad[0], pad[1], pad[2], pad[3], 1, 1, hidden);
    }

    /** Whether the kernel leaves an output for this input and padding. */
    static boolean leavesOutput(Conv2dSpec spec, int h, int w, int kh, int kw) {
        return spec.outH(h, kh) > 0 && spec.outW(w, kw) > 0;
    }

    /**
     * Whether a stride-2 block (channels that fit) runs channel-blocked: padding narrower
     * than the kernel on every side and an output plane of at most 64 × 64; wider padding
     * could make the output far larger than the input.
     */
    static boolean runsBlocked(Blk b) {
        Conv2dSpec s = b.dspec;
        return s.padTop() < b.kh && s.padBottom() < b.kh && s.padLeft() < b.kw
                && s.padRight() < b.kw
                && (long) s.outH(b.h, b.kh) * s.outW(b.w, b.kw) <= 64 * 64;
    }

    /**
     * The block, blocked where {@link #runsBlocked} says so and NCHW otherwise, against the
     * reference (when small) and the NCHW calls.
     */
    static float[] check(CpuBackend cpu, Blk b, boolean residual, boolean reference) {
        String what = b.what() + (residual ? " + residual" : "");
        assertEquals(runsBlocked(b), b.fits(), what + " runs channel-blocked");
        float[] blocked = b.run(cpu, residual);
        if (reference) {
            assertClose(what, toDouble(b.run(new ReferenceBackend(), residual)), blocked,
                    TOLERANCE);
        }
        assertClose(what + " vs NCHW", toDouble(b.nchw(cpu, residual)), blocked, TOLERANCE);
        return blocked;
    }

    /**
     * Every side from 1 to 20 for the height, a width that runs through 1 to 20 in another
     * order (so odd with even and square with oblong), every kernel and every padding.
     */
    @Test
    void everySideKernelAndPaddingMatchesTheReferenceAndTheNchwCalls() {
        assumeTrue(Transposes.available(), "the blocked path needs vectors of 16 or 8 floats");
        SplittableRandom r = new SplittableRandom(101);
        Activation[] acts = Activation.values();
        int i = 0;
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            for (int h = 1; h <= 20; h++) {
                int w = (h * 7 + 3) % 20 + 1;
                for (int[] k : KERNELS) {
                    for (int[] pad : paddings(h, w, k[0], k[1])) {
                        Conv2dSpec spec = strided(pad, 2, 2, 32);
                        if (!leavesOutput(spec, h, w, k[0], k[1])) {
                            continue;
                        }
                        i++;
                        try (Blk b = new Blk(r, 2, 16, h, w, 32, 32, 4, k[0], k[1], spec,
                                acts[i % acts.length], acts[(i / 2) % acts.length],
                                Activation.SILU, i % 3 != 0)) {
                            check(cpu, b, b.residualFits(), true);
                        }
                    }
                }
            }
        }
        assertTrue(i > 800, i + " blocks");
    }

    /** The same for the transposed shapes of a few wide and tall planes past 16 pixels. */
    @Test
    void wideAndTallPlanesAndOutputWidthsNotMultiplesOfFour() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(102);
        int[][] sizes = {{1, 20}, {20, 1}, {2, 19}, {19, 2}, {3, 17}, {17, 3}, {9, 33},
            {33, 9}, {5, 64}, {64, 5}, {64, 64}, {63, 63}, {11, 45}};
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.AUTO)) {
            for (int[] s : sizes) {
                for (int[] k : KERNELS) {
                    for (int[] pad : paddings(s[0], s[1], k[0], k[1])) {
                        Conv2dSpec spec = strided(pad, 2, 2, 32);
                        if (!leavesOutput(spec, s[0], s[1], k[0], k[1])) {
                            continue;
                        }
                        try (Blk b = new Blk(r, 1, 16, s[0], s[1], 32, 32, 4, k[0], k[1], spec,
                                Activation.SILU, Activation.SILU, Activation.SILU, true)) {
                            check(cpu, b, false, s[0] * s[1] <= 400);
                        }
                    }
                }
            }
        }
    }

    /**
     * Stride 2 one way only, other strides, or stride 2 with dilation: not the blocked path,
     * and still the reference's results (the NCHW calls' own bits).
     */
    @Test
    void strideTwoOneWayOnlyTakesTheNchwPath() {
        SplittableRandom r = new SplittableRandom(103);
        int[][] strides = {{2, 1}, {1, 2}, {2, 3}, {3, 2}, {4, 4}, {2, 4}};
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (int[] st : strides) {
                for (int[] size : new int[][] {{7, 8}, {1, 1}, {12, 5}}) {
                    for (int[] k : new int[][] {{3, 3}, {1, 3}, {5, 3}}) {
                        Conv2dSpec spec = new Conv2dSpec(st[0], st[1], k[0] / 2, k[0] / 2,
                                k[1] / 2, k[1] / 2, 1, 1, 32);
                        try (Blk b = new Blk(r, 3, 16, size[0], size[1], 32, 32, 4, k[0], k[1],
                                spec, Activation.SILU, Activation.RELU, Activation.SILU,
                                true)) {
                            assertFalse(b.fits(), b.what() + " should not be blocked");
                            float[] y = b.run(cpu, false);
                            assertClose(b.what(), toDouble(b.run(new ReferenceBackend(), false)),
                                    y, TOLERANCE);
                            assertArrayEquals(b.nchw(cpu, false), y, b.what());
                        }
                    }
                }
            }
            // dilation 2 with stride 2 both ways is not blocked either
            try (Blk b = new Blk(r, 2, 16, 9, 9, 32, 32, 4, 3, 3,
                    new Conv2dSpec(2, 2, 2, 2, 2, 2, 2, 2, 32), Activation.SILU,
                    Activation.SILU, Activation.SILU, true)) {
                assertFalse(b.fits(), b.what());
                assertArrayEquals(b.nchw(cpu, false), b.run(cpu, false), b.what());
            }
        }
    }

    /**
     * Batches of 1 to 97 images, and 0: the output pixels of the batch run on past register
     * tiles of 6 pixels and worker tasks, so tiles hold the end of one image and the start
     * of the next.
     */
    @Test
    void batchesWhoseTilesStraddleImages() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(104);
        int[] batches = {1, 2, 3, 5, 7, 11, 13, 25, 61, 97};
        int[][] sizes = {{1, 1}, {2, 2}, {3, 3}, {5, 7}, {6, 5}, {9, 2}, {13, 13}};
        try (CpuBackend cpu = new CpuBackend(4, GemmChoice.JAVA)) {
            for (int n : batches) {
                for (int[] s : sizes) {
                    int[] k = KERNELS[(n + s[0]) % KERNELS.length];
                    int[] pad = paddings(s[0], s[1], k[0], k[1]).get(n % 2);
                    Conv2dSpec spec = strided(pad, 2, 2, 32);
                    if (!leavesOutput(spec, s[0], s[1], k[0], k[1])) {
                        continue;
                    }
                    try (Blk b = new Blk(r, n, 16, s[0], s[1], 32, 64, 4, k[0], k[1], spec,
                            Activation.SILU, Activation.SILU, Activation.SILU, true)) {
                        check(cpu, b, false, (long) n * s[0] * s[1] <= 2000);
                    }
                }
            }
            // no images: an empty output of the strided shape, as the NCHW calls give
            try (Blk b = new Blk(r, 0, 16, 7, 6, 32, 32, 4, 3, 3, strided(new int[] {1, 1, 1, 1},
                    2, 2, 32), Activation.SILU, Activation.SILU, Activation.SILU, true)) {
                assertTrue(b.fits(), b.what());
                try (Tensor y = cpu.invertedResidual(b.x, b.block(), null)) {
                    assertArrayEquals(new long[] {0, 32, 4, 3}, y.shape());
                }
                assertArrayEquals(b.nchw(cpu, false), b.run(cpu, false));
            }
        }
    }

    /**
     * Channel counts at the limits of the blocked path: 16 input channels, 32 expanded and
     * output channels, multiples of them, and the backbones' large blocks; counts that are
     * not multiples of a vector's floats in or of two vectors' out take the NCHW path.
     */
    @Test
    void channelCountsAtTheLimits() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(105);
        // {c, hidden, out, reduced}
        int[][] channels = {{16, 32, 32, 1}, {16, 32, 96, 8}, {48, 96, 32, 12},
            {32, 256, 64, 8}, {160, 960, 160, 40}, {16, 64, 256, 16}, {112, 672, 192, 28}};
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.AUTO)) {
            for (int[] ch : channels) {
                for (int[] s : new int[][] {{7, 7}, {8, 8}, {3, 10}}) {
                    int[] pad = paddings(s[0], s[1], 3, 3).get(s[0] % 2);
                    try (Blk b = new Blk(r, 3, ch[0], s[0], s[1], ch[1], ch[2], ch[3], 3, 3,
                            strided(pad, 2, 2, ch[1]), Activation.SILU, Activation.SILU,
                            Activation.SILU, true)) {
                        check(cpu, b, false, ch[1] <= 256);
                    }
                }
            }
            // not multiples of L in or 2L out: the NCHW calls' own bits
            int lanes = Transposes.LANES;
            int[][] misfits = {{lanes + lanes / 2, 2 * lanes, 2 * lanes, 4},
                {lanes, 3 * lanes, 2 * lanes, 4}, {lanes, 2 * lanes, 3 * lanes, 4},
                {lanes / 2, 2 * lanes, 2 * lanes, 4}};
            for (int[] ch : misfits) {
                try (Blk b = new Blk(r, 2, ch[0], 7, 7, ch[1], ch[2], ch[3], 3, 3,
                        strided(new int[] {1, 1, 1, 1}, 2, 2, ch[1]), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
                    assertFalse(b.fits(), b.what());
                    assertArrayEquals(b.nchw(cpu, false), b.run(cpu, false), b.what());
                }
            }
        }
    }

    /** Every activation on each of the three layers, with and without biases. */
    @Test
    void everyActivationWithAndWithoutBiases() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(106);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (Activation ea : Activation.values()) {
                for (Activation da : Activation.values()) {
                    for (boolean biases : new boolean[] {true, false}) {
                        Activation ga = Activation.values()[(ea.ordinal() + da.ordinal())
                                % Activation.values().length];
                        int h = 3 + ea.ordinal(), w = 4 + da.ordinal();
                        int[] k = KERNELS[(ea.ordinal() * 3 + da.ordinal()) % KERNELS.length];
                        int[] pad = paddings(h, w, k[0], k[1]).get(biases ? 0 : 1);
                        try (Blk b = new Blk(r, 3, 16, h, w, 64, 32, 6, k[0], k[1],
                                strided(pad, 2, 2, 64), ea, da, ga, biases)) {
                            check(cpu, b, false, true);
                        }
                    }
                }
            }
        }
    }

    /**
     * Where a strided output has the input's shape (1×1 images, or enough padding) a residual
     * is added; elsewhere a residual of the input's shape is refused, naming the residual and
     * the output's shape.
     */
    @Test
    void aResidualIsAddedWhereShapesAllowAndRefusedElsewhere() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(107);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            // {n, side, kernel, padding}: outputs of the input's size
            int[][] same = {{5, 1, 3, 1}, {7, 1, 1, 0}, {3, 2, 3, 2}, {2, 4, 5, 4}, {2, 3, 3, 2},
                {1, 6, 7, 6}};
            for (int[] s : same) {
                Conv2dSpec spec = strided(new int[] {s[3], s[3], s[3], s[3]}, 2, 2, 64);
                try (Blk b = new Blk(r, s[0], 32, s[1], s[1], 64, 32, 8, s[2], s[2], spec,
                        Activation.SILU, Activation.SILU, Activation.SILU, true)) {
                    assertTrue(b.residualFits(), b.what());
                    float[] with = check(cpu, b, true, true);
                    float[] without = b.run(cpu, false);
                    float[] x = b.x.toFloatArray();
                    for (int i = 0; i < x.length; i++) {
                        assertEquals(without[i] + x[i], with[i], 1e-5f * (1 + Math.abs(x[i])),
                                b.what() + " element " + i);
                    }
                }
            }
            for (int side : new int[] {2, 7, 8, 16}) {
                try (Blk b = new Blk(r, 2, 32, side, side, 64, 32, 8, 3, 3,
                        strided(new int[] {1, 1, 1, 1}, 2, 2, 64), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
                    assertTrue(b.fits(), b.what());
                    assertFalse(b.residualFits(), b.what());
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> cpu.invertedResidual(b.x, b.block(), b.x).close(), b.what());
                    int out = (side + 1) / 2;
                    assertTrue(e.getMessage().contains("residual")
                            && e.getMessage().contains("[2, 32, " + out + ", " + out + "]"),
                            e.getMessage());
                }
            }
            // and the backend still works after the refusals
            try (Blk b = Blk.simple(r, 2, 32, 5, 5, 64, 32, 3)) {
                check(cpu, b, true, true);
            }
        }
    }

    /** The kernel rows that lie inside the image for every output row. */
    static List<Integer> rowsNeverInThePadding(Blk b) {
        List<Integer> rows = new ArrayList<>();
        int outH = b.dspec.outH(b.h, b.kh);
        for (int ky = 0; ky < b.kh; ky++) {
            boolean inside = true;
            for (int oy = 0; oy < outH; oy++) {
                int iy = 2 * oy + ky - b.dspec.padTop();
                inside &= iy >= 0 && iy < b.h;
            }
            if (inside) {
                rows.add(ky);
            }
        }
        return rows;
    }

    /**
     * NaN and infinity in the input and in every weight and bias give the NCHW calls' pattern
     * of NaN, infinities and finite values. Depthwise weights are put only on kernel rows
     * that never lie wholly in the padding (on those rows the blocked path does not multiply
     * them by the padding's zero, a documented limitation); on any column, padded or not.
     * Pixels a 1×1 or 1×3 kernel of stride 2 never reads hold NaN too, which must not reach
     * the output.
     */
    @Test
    void nonFiniteValuesGiveTheNchwCallsPattern() {
        assumeTrue(Transposes.available());
        float nan = Float.NaN;
        float inf = Float.POSITIVE_INFINITY;
        String[] names = {"x", "x", "x", "ew", "eb", "dw", "dw", "dw", "db", "rw", "rb", "gw",
            "gb", "pw", "pb"};
        float[] values = {nan, inf, -inf, nan, inf, nan, inf, -inf, nan, inf, nan, -inf, nan,
            inf, nan};
        int[][] shapes = {{7, 7, 3, 3}, {8, 8, 3, 3}, {18, 17, 3, 3}, {9, 20, 5, 5},
            {6, 11, 1, 3}, {5, 5, 1, 1}, {10, 10, 7, 7}, {4, 9, 3, 5}};
        List<String> problems = new ArrayList<>();
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (int[] s : shapes) {
                for (int p = 0; p < 3; p++) {
                    int[] pad = paddings(s[0], s[1], s[2], s[3]).get(p);
                    for (int i = 0; i < names.length; i++) {
                        SplittableRandom r = new SplittableRandom(108 + i);
                        try (Blk b = new Blk(r, 3, 32, s[0], s[1], 64, 32, 8, s[2], s[3],
                                strided(pad, 2, 2, 64), Activation.SILU, Activation.SILU,
                                Activation.SILU, true)) {
                            Tensor t = switch (names[i]) {
                                case "x" -> b.x;
                                case "ew" -> b.ew;
                                case "eb" -> b.eb;
                                case "dw" -> b.dw;
                                case "db" -> b.db;
                                case "rw" -> b.rw;
                                case "rb" -> b.rb;
                                case "gw" -> b.gw;
                                case "gb" -> b.gb;
                                case "pw" -> b.pw;
                                default -> b.pb;
                            };
                            long at = r.nextLong(t.numel());
                            if (names[i].equals("dw")) {
                                List<Integer> rows = rowsNeverInThePadding(b);
                                if (rows.isEmpty()) {
                                    continue;
                                }
                                int ky = rows.get(r.nextInt(rows.size()));
                                at = ((long) r.nextInt(64) * b.kh + ky) * b.kw
                                        + r.nextInt(b.kw);
                            }
                            if (names[i].equals("x") && i == 0) {
                                // an odd row and column: never read by the 1-wide kernels
                                int y = Math.min(1, b.h - 1), x = Math.min(1, b.w - 1);
                                at = ((long) r.nextInt(3) * 32 + r.nextInt(32)) * b.h * b.w
                                        + (long) y * b.w + x;
                            }
                            poke(t, at, values[i]);
                            String d = kinds(b.nchw(cpu, false), b.run(cpu, false));
                            if (d != null) {
                                problems.add(b.what() + " " + names[i] + "[" + at + "]="
                                        + values[i] + ": " + d);
                            }
                        }
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " cases differ:\n" + String.join("\n", problems));
        }
    }

    /**
     * An input that is NaN except for the pixels a 1×1 kernel of stride 2 reads: the
     * expansion's NaN sits at every other pixel, which the blocked kernel's groups of four
     * read past a row's end only for outputs it throws away.
     */
    @Test
    void unreadPixelsHoldingNanDoNotReachTheOutput() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(109);
        try (CpuBackend cpu = new CpuBackend(2, GemmChoice.JAVA)) {
            for (int[] s : new int[][] {{1, 1}, {2, 2}, {5, 5}, {6, 9}, {9, 6}, {16, 16},
                {17, 3}}) {
                try (Blk b = new Blk(r, 4, 16, s[0], s[1], 32, 32, 4, 1, 1,
                        strided(new int[] {0, 0, 0, 0}, 2, 2, 32), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
                    for (long i = 0; i < b.x.numel(); i++) {
                        long pixel = i % ((long) s[0] * s[1]);
                        if (pixel / s[1] % 2 == 1 || pixel % s[1] % 2 == 1) {
                            b.x.setFloat(i, Float.NaN);
                        }
                    }
                    float[] y = check(cpu, b, false, true);
                    for (float v : y) {
                        assertTrue(Float.isFinite(v), b.what());
                    }
                }
            }
        }
    }

    /** Uploaded 1×1 weights, their strips kept, the same bits over batches of every size. */
    @Test
    void uploadedWeightsGiveTheSameBitsOverBatchSizes() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(110);
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA);
                CpuBackend plain = new CpuBackend(3, GemmChoice.JAVA);
                Blk b = new Blk(r, 1, 32, 5, 5, 64, 32, 8, 3, 3,
                        strided(new int[] {1, 1, 1, 1}, 2, 2, 64), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
            Tensor ew = b.ew, pw = b.pw;
            Tensor upEw = b.own(cpu.upload(ew));
            Tensor upPw = b.own(cpu.upload(pw));
            for (int n : new int[] {5, 1, 9, 2, 25, 1, 0, 3}) {
                for (int side : new int[] {5, 4, 1, 12}) {
                    Tensor old = b.x;
                    try (Tensor x = Reference.random(r, -2, 2, n, 32, side, side)) {
                        b.x = x;
                        b.ew = ew;
                        b.pw = pw;
                        float[] expected = b.run(plain, false);
                        b.ew = upEw;
                        b.pw = upPw;
                        assertArrayEquals(expected, b.run(cpu, false), n + " images " + side);
                        // the NCHW calls with the same uploaded weights, then the block again
                        b.nchw(cpu, false);
                        assertArrayEquals(expected, b.run(cpu, false), n + " images " + side);
                    } finally {
                        b.x = old;
                        b.ew = ew;
                        b.pw = pw;
                    }
                }
            }
        }
    }

    /** 1 to 7 workers, either 1×1 product, the same bits as one worker. */
    @Test
    void anyWorkerCountGivesTheSameBits() {
        assumeTrue(Transposes.available());
        // {n, c, h, w, hidden, out, kh, kw}
        int[][] shapes = {{1, 16, 1, 1, 32, 32, 3, 3}, {97, 16, 1, 1, 32, 64, 3, 3},
            {61, 16, 2, 2, 32, 32, 3, 3}, {41, 16, 5, 1, 32, 32, 3, 1},
            {23, 16, 7, 3, 32, 32, 5, 3}, {2, 16, 3, 17, 32, 32, 1, 3},
            {3, 32, 9, 9, 96, 32, 5, 5}, {7, 32, 8, 8, 256, 64, 3, 3},
            {5, 16, 14, 14, 64, 32, 7, 7}, {25, 32, 6, 6, 128, 32, 3, 3}};
        List<CpuBackend> backends = new ArrayList<>();
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA)) {
            for (int t = 1; t <= 7; t++) {
                backends.add(new CpuBackend(t, t % 2 == 0 ? GemmChoice.AUTO : GemmChoice.JAVA));
            }
            int i = 0;
            for (int[] s : shapes) {
                // symmetric and 'SAME', which leave an output for any input
                int[] pad = paddings(s[2], s[3], s[6], s[7]).get(i++ % 2);
                try (Blk b = new Blk(new SplittableRandom(111), s[0], s[1], s[2], s[3], s[4],
                        s[5], 8, s[6], s[7], strided(pad, 2, 2, s[4]), Activation.SILU,
                        Activation.GELU, Activation.SILU, true)) {
                    assertTrue(b.fits(), b.what());
                    float[] expected = b.run(one, b.residualFits());
                    for (CpuBackend cpu : backends) {
                        assertArrayEquals(expected, b.run(cpu, b.residualFits()),
                                b.what() + " on " + cpu.threads() + " threads");
                    }
                }
            }
        } finally {
            backends.forEach(CpuBackend::close);
        }
    }

    /**
     * Several threads calling one backend with strided and unstrided blocks mixed, so that
     * the per-thread buffers are taken in turn by blocks of other shapes: each result the
     * bits of the same block called alone.
     */
    @Test
    void manyCallersOnOneBackendGetTheirSingleCallerBits() throws Exception {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(112);
        List<Blk> blocks = new ArrayList<>();
        // {n, c, h, w, hidden, out, k, stride}
        int[][] shapes = {{5, 16, 7, 7, 64, 32, 3, 2}, {3, 32, 9, 5, 96, 32, 5, 2},
            {13, 16, 1, 1, 32, 32, 3, 2}, {2, 16, 3, 17, 32, 32, 3, 2},
            {25, 32, 4, 4, 128, 32, 3, 2}, {2, 16, 20, 20, 64, 32, 7, 2},
            {5, 16, 7, 7, 64, 32, 3, 1}, {2, 16, 14, 14, 64, 32, 5, 1}};
        for (int[] s : shapes) {
            int pad = (s[6] - 1) / 2;
            blocks.add(new Blk(r, s[0], s[1], s[2], s[3], s[4], s[5], 8, s[6], s[6],
                    new Conv2dSpec(s[7], s[7], pad, pad + s[7] - 1, pad, pad, 1, 1, s[4]),
                    Activation.SILU, Activation.SILU, Activation.SILU, true));
        }
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA)) {
            List<float[]> expected = new ArrayList<>();
            for (Blk b : blocks) {
                assertTrue(b.fits(), b.what());
                expected.add(b.run(cpu, false));
            }
            List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int offset = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int round = 0; round < 24; round++) {
                            int i = (round * (offset + 1) + offset) % blocks.size();
                            float[] got = blocks.get(i).run(cpu, false);
                            if (!Arrays.equals(expected.get(i), got)) {
                                throw new AssertionError("caller " + offset + " round " + round
                                        + " " + blocks.get(i).what() + " differs");
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(60_000);
                assertFalse(t.isAlive(), "a caller still running after a minute");
            }
            if (!failures.isEmpty()) {
                fail(failures.get(0));
            }
        } finally {
            blocks.forEach(Blk::close);
        }
    }

    /**
     * Padding much larger than the kernel: the strided output is larger than the input, up
     * to past the 64 × 64 plane limit that the input is held to, most of it only biases.
     * Buffers that held NaN from these blocks do not reach a later smaller one.
     */
    @Test
    void paddingLargerThanTheKernelGivesOutputsLargerThanTheInput() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(113);
        // {n, h, w, k, padding}
        int[][] shapes = {{2, 1, 1, 3, 10}, {3, 2, 3, 3, 7}, {1, 3, 3, 5, 40}, {1, 1, 1, 1, 150},
            {2, 5, 4, 3, 100}};
        try (CpuBackend cpu = new CpuBackend(3, GemmChoice.JAVA);
                CpuBackend fresh = new CpuBackend(3, GemmChoice.JAVA);
                Blk small = new Blk(r, 3, 16, 5, 5, 32, 32, 4, 3, 3,
                        strided(new int[] {1, 1, 1, 1}, 2, 2, 32), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
            for (int[] s : shapes) {
                int p = s[4];
                try (Blk b = new Blk(r, s[0], 16, s[1], s[2], 32, 32, 4, s[3], s[3],
                        strided(new int[] {p, p + 1, p + 1, p}, 2, 2, 32), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
                    check(cpu, b, b.residualFits(), (long) s[0] * p * p <= 3000);
                    Tensor x = b.x;
                    try (Tensor nans = InvertedResidualEdgeTest.filledLike(x, Float.NaN)) {
                        b.x = nans;
                        b.run(cpu, false);
                    } finally {
                        b.x = x;
                    }
                }
                assertArrayEquals(small.run(fresh, false), small.run(cpu, false), small.what());
            }
        }
    }

    /**
     * A 1×1 image padded by 500 on every side: its strided output is 501 × 501 pixels, far
     * past the 64 × 64 planes the blocked path is sized for. Run blocked, each channel's
     * squeeze-excite mean would be one float chain over 251001 pixels, drifting from the
     * reference (2.4e-5 here; the NCHW calls stay at 7e-8), and every worker would keep a
     * padded plane of hundreds of MiB. Such a block takes the NCHW path.
     */
    @Test
    void outputPlanesPastThePlaneLimitTakeTheNchwPathOrStayAccurate() {
        assumeTrue(Transposes.available());
        int p = 500;
        List<String> problems = new ArrayList<>();
        try (CpuBackend cpu = new CpuBackend(1, GemmChoice.JAVA);
                Blk b = new Blk(new SplittableRandom(1), 1, 16, 1, 1, 32, 32, 4, 1, 1,
                        strided(new int[] {p, p, p, p}, 2, 2, 32), Activation.SILU,
                        Activation.SILU, Activation.SILU, true)) {
            int out = b.dspec.outH(1, 1);
            if (b.fits()) {
                problems.add("fits holds for an output plane of " + out + " × " + out);
            }
            float[] y = b.run(cpu, false);
            try {
                assertClose(b.what(), toDouble(b.run(new ReferenceBackend(), false)), y,
                        TOLERANCE);
            } catch (AssertionError e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    /**
     * Random strided blocks: shapes, kernels, paddings (each side 0 to the kernel's size),
     * activations and biases; against the reference, the NCHW calls and 1 / 2 / 5 workers.
     */
    @Test
    void randomStridedBlocks() {
        assumeTrue(Transposes.available());
        SplittableRandom r = new SplittableRandom(114);
        Activation[] acts = Activation.values();
        int ran = 0;
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.AUTO);
                CpuBackend five = new CpuBackend(5, GemmChoice.JAVA)) {
            while (ran < 220) {
                int n = 1 + r.nextInt(ran % 5 == 0 ? 40 : 5);
                int c = 16 * (1 + r.nextInt(3));
                int h = 1 + r.nextInt(ran % 7 == 0 ? 40 : 20);
                int w = 1 + r.nextInt(ran % 3 == 0 ? 40 : 20);
                int hidden = 32 * (1 + r.nextInt(3));
                int out = 32 * (1 + r.nextInt(2));
                int kh = 1 + r.nextInt(7);
                int kw = 1 + r.nextInt(7);
                Conv2dSpec spec = new Conv2dSpec(2, 2, r.nextInt(kh + 1), r.nextInt(kh + 1),
                        r.nextInt(kw + 1), r.nextInt(kw + 1), 1, 1, hidden);
                if (!leavesOutput(spec, h, w, kh, kw)) {
                    continue;
                }
                ran++;
                try (Blk b = new Blk(r, n, c, h, w, hidden, out, 1 + r.nextInt(12), kh, kw, spec,
                        acts[r.nextInt(acts.length)], acts[r.nextInt(acts.length)],
                        acts[r.nextInt(acts.length)], r.nextBoolean())) {
                    boolean residual = b.residualFits() && r.nextBoolean();
                    float[] blocked = check(one, b, residual,
                            (long) n * h * w * hidden * (c + out + kh * kw) < 20_000_000L);
                    if (runsBlocked(b)) {
                        assertArrayEquals(blocked, b.run(two, residual), b.what() + " 2");
                        assertArrayEquals(blocked, b.run(five, residual), b.what() + " 5");
                    } else {
                        // the NCHW calls may take OpenBLAS on one backend and not the other
                        assertClose(b.what() + " 2", toDouble(blocked), b.run(two, residual),
                                TOLERANCE);
                        assertClose(b.what() + " 5", toDouble(blocked), b.run(five, residual),
                                TOLERANCE);
                    }
                }
            }
        }
    }
}
