package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A 1×1 product packs its strips of pixels from NCHW, across image ends where the planes are
 * small, and a gated one scales them on the way. A gate of ones scales nothing, so the plain
 * and the gated product must give the same bits, with and without a residual, on one, two
 * and three threads: over planes around the strip width, image ends on strip ends, one large
 * image, partial blocks, more channels than a partial sum takes, every activation, both GEMM
 * choices; and against the double-precision reference. Inputs over heap and misaligned native
 * memory read the same.
 */
class PointwiseStripsFuzzTest {

    private static final Conv2dSpec POINTWISE = Conv2dSpec.symmetric(1, 0, 1, 1);
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static List<long[]> shapes() {
        int nr = PixelProducts.NR;
        List<long[]> shapes = new ArrayList<>();
        // {n, c, h, w, o}
        int[][] planes = {{1, nr - 1}, {1, nr}, {1, nr + 1}, {1, 2 * nr - 1}, {2, nr},
            {1, 2 * nr + 1}, {7, 7}, {14, 14}, {1, 3 * nr}, {3, nr}, {5, 13}, {28, 28},
            {32, 32}, {16, 64}, {1, 1024 + nr}, {17, 17}};
        int[] ns = {1, 2, 3, 5};
        int[][] co = {{1, 1}, {6, 6}, {5, 7}, {13, 13}, {520, 7}};
        SplittableRandom pick = new SplittableRandom(3);
        for (int[] p : planes) {
            for (int n : ns) {
                int[] c = co[pick.nextInt(co.length)];
                if ((long) n * p[0] * p[1] * c[0] > 600_000) {
                    c = co[2];
                }
                shapes.add(new long[] {n, c[0], p[0], p[1], c[1]});
            }
        }
        // N = 1, planes at and over the batched size
        shapes.add(new long[] {1, 9, 16, 16, 7});
        shapes.add(new long[] {1, 9, 57, 55, 13});
        shapes.add(new long[] {1, 3, 100, 100, 5});
        shapes.add(new long[] {1, 600, 23, 23, 6});
        shapes.add(new long[] {2, 600, 23, 23, 12});
        return shapes;
    }

    @Test
    void plainAndGatedProductsGiveTheSameBits() {
        SplittableRandom random = new SplittableRandom(99);
        Activation[] acts = Activation.values();
        int a = 0;
        try (CpuBackend one = new CpuBackend(1, GemmChoice.JAVA);
                CpuBackend two = new CpuBackend(2, GemmChoice.AUTO);
                CpuBackend three = new CpuBackend(3, GemmChoice.JAVA)) {
            for (long[] s : shapes()) {
                Activation act = acts[a++ % acts.length];
                long[] xShape = Arrays.copyOf(s, 4);
                String what = Arrays.toString(xShape) + " -> " + s[4] + " " + act
                        + " NR " + PixelProducts.NR;
                try (Tensor x = random(random, -1, 1, xShape);
                        Tensor w = random(random, -0.5, 0.5, s[4], s[1], 1, 1);
                        Tensor b = random(random, -0.5, 0.5, s[4]);
                        Tensor ones = Tensor.of(filled(s[0] * s[1], 1f), s[0], s[1]);
                        Tensor r = random(random, -1, 1, s[0], s[4], s[2], s[3])) {
                    double[] expected = Reference.conv2d(x.toFloatArray(), xShape,
                            w.toFloatArray(), w.shape(), b.toFloatArray(), POINTWISE, act);
                    float[] rr = r.toFloatArray();
                    double[] expectedAdded = expected.clone();
                    for (int i = 0; i < rr.length; i++) {
                        expectedAdded[i] += rr[i];
                    }
                    float[] first = null;
                    for (CpuBackend cpu : new CpuBackend[] {one, two, three}) {
                        try (Tensor plain = cpu.conv2d(x, w, b, POINTWISE, act);
                                Tensor gated = cpu.gatedConv2d(x, ones, w, b, POINTWISE, act);
                                Tensor plainAdded = cpu.conv2dAdd(x, null, w, b, POINTWISE,
                                        act, r);
                                Tensor gatedAdded = cpu.conv2dAdd(x, ones, w, b, POINTWISE,
                                        act, r)) {
                            String who = what + " " + cpu.name();
                            assertClose(who, expected, plain.toFloatArray(), 5e-6);
                            assertClose(who + " +r", expectedAdded, plainAdded.toFloatArray(),
                                    5e-6);
                            if (Convolutions.acrossImages(geometry(s))) {
                                assertArrayEquals(gated.toFloatArray(), plain.toFloatArray(),
                                        who);
                                assertArrayEquals(gatedAdded.toFloatArray(),
                                        plainAdded.toFloatArray(), who + " + residual");
                                if (first == null) {
                                    first = plain.toFloatArray();
                                } else {
                                    assertArrayEquals(first, plain.toFloatArray(),
                                            who + " threads");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** Inputs over heap memory and over native memory 4 bytes off alignment. */
    @Test
    void inputsOverHeapAndMisalignedMemory() {
        SplittableRandom random = new SplittableRandom(5);
        long[][] shapes = {{2, 9, 14, 14, 7}, {1, 5, 56, 56, 11}, {3, 4, 5, 13, 9}};
        try (CpuBackend three = new CpuBackend(3, GemmChoice.JAVA);
                Arena arena = Arena.ofShared()) {
            for (long[] s : shapes) {
                long[] xShape = Arrays.copyOf(s, 4);
                String what = Arrays.toString(xShape) + " -> " + s[4];
                try (Tensor x = random(random, -1, 1, xShape);
                        Tensor w = random(random, -0.5, 0.5, s[4], s[1], 1, 1);
                        Tensor b = random(random, -0.5, 0.5, s[4]);
                        Tensor expected = three.conv2d(x, w, b, POINTWISE, Activation.GELU)) {
                    float[] values = x.toFloatArray();
                    MemorySegment heap = MemorySegment.ofArray(values.clone());
                    MemorySegment off = arena.allocate(values.length * 4L + 4, 64)
                            .asSlice(4, values.length * 4L);
                    MemorySegment.copy(values, 0, off, F32, 0, values.length);
                    for (MemorySegment m : new MemorySegment[] {heap, off,
                        off.asReadOnly()}) {
                        Tensor wrapped = Tensor.wrap(m, DType.F32, Device.CPU, xShape);
                        try (Tensor y = three.conv2d(wrapped, w, b, POINTWISE,
                                Activation.GELU)) {
                            assertArrayEquals(expected.toFloatArray(), y.toFloatArray(),
                                    what + " " + m);
                        }
                    }
                }
            }
        }
    }

    private static Convolutions.Geometry geometry(long[] s) {
        return new Convolutions.Geometry((int) s[0], (int) s[1], (int) s[2], (int) s[3],
                (int) s[4], 1, 1, (int) s[2], (int) s[3], POINTWISE);
    }

    private static float[] filled(long length, float value) {
        float[] values = new float[Math.toIntExact(length)];
        Arrays.fill(values, value);
        return values;
    }
}
