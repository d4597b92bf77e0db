package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertClose;
import static dev.lumbar.engine.backend.cpu.Reference.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Dense convolutions of stride 1 and 2 read from a zero-padded copy ({@link
 * PixelProducts#convolvePadded}) give the very bits of the packed windows ({@link
 * PixelProducts#convolve}) and match a double-precision reference: strips by output row and
 * strips running across rows, uneven padding, no padding, kernels of other sizes, sums longer
 * than one chunk, partial register tiles, with and without bias, activation and residual.
 */
class PaddedConvolutionTest {

    /** {N, C, H, W, O, kh, kw, padTop, padBottom, padLeft, padRight}. */
    private static final int[][] CASES = {
        {2, 3, 32, 32, 5, 3, 3, 1, 1, 1, 1},   // 32 wide: strips by row, none dropped
        {3, 4, 14, 14, 7, 3, 3, 1, 1, 1, 1},   // strips across rows, some past the image
        {2, 5, 9, 20, 13, 5, 3, 2, 2, 1, 1},   // 5×3 kernel
        {1, 2, 18, 18, 6, 3, 3, 0, 0, 0, 0},   // no padding: 16×16 outputs
        {2, 3, 10, 10, 4, 3, 3, 0, 2, 0, 2},   // padding only after
        {2, 3, 7, 40, 6, 1, 5, 0, 0, 2, 2},    // one kernel row
        {2, 70, 6, 6, 8, 3, 3, 1, 1, 1, 1},    // 630 terms: two chunks
        {1, 1, 64, 64, 1, 3, 3, 1, 1, 1, 1},   // one channel in and out
    };

    /** As {@link #CASES}, then the stride (both ways). */
    private static final int[][] STRIDED = {
        {2, 3, 64, 64, 24, 3, 3, 0, 1, 0, 1, 2},  // an image stem's "same" padding: 32×32
        {2, 3, 65, 63, 24, 3, 3, 1, 1, 1, 1, 2},  // odd sizes: 33×32
        {1, 5, 20, 37, 7, 5, 5, 2, 2, 2, 2, 2},   // 5×5 kernel: 10×19
        {2, 4, 17, 30, 6, 2, 2, 0, 0, 0, 0, 2},   // even kernel, no padding: 8×15
        {1, 70, 10, 10, 8, 3, 3, 1, 1, 1, 1, 2},  // 630 terms: two chunks
        {3, 3, 9, 9, 5, 3, 3, 1, 1, 1, 1, 2},     // rows of 5, narrower than a strip
        {1, 2, 12, 12, 4, 3, 3, 2, 2, 2, 2, 2},   // padding as wide as the kernel's reach
        {1, 4, 300, 300, 4, 3, 3, 1, 1, 1, 1, 2}, // 150 × 150 in bands of 25 rows
    };

    @Test
    void sameBitsAsPackedWindowsAndCloseToReference() {
        SplittableRandom random = new SplittableRandom(17);
        for (int threads : new int[] {1, 3}) {
            try (WorkerPool workers = new WorkerPool(threads)) {
                PixelProducts products = new PixelProducts(workers);
                for (int[][] cases : new int[][][] {CASES, STRIDED}) {
                    for (int[] t : cases) {
                        check(products, t, random, Activation.SILU, true, true, true);
                        check(products, t, random, Activation.IDENTITY, false, false, true);
                        check(products, t, random, Activation.GELU, true, false, true);
                    }
                }
            }
        }
    }

    private static void check(PixelProducts products, int[] t, SplittableRandom random,
            Activation act, boolean withBias, boolean withResidual, boolean withReference) {
        int n = t[0], c = t[1], h = t[2], w = t[3], o = t[4], kh = t[5], kw = t[6];
        int stride = t.length > 11 ? t[11] : 1;
        Conv2dSpec spec = new Conv2dSpec(stride, stride, t[7], t[8], t[9], t[10], 1, 1, 1);
        int outH = (h + t[7] + t[8] - kh) / stride + 1;
        int outW = (w + t[9] + t[10] - kw) / stride + 1;
        long[] xShape = {n, c, h, w};
        long[] wShape = {o, c, kh, kw};
        long[] yShape = {n, o, outH, outW};
        String what = Arrays.toString(xShape) + " * " + Arrays.toString(wShape) + " " + spec
                + " " + act + (withBias ? " bias" : "") + (withResidual ? " residual" : "");
        PixelProducts.Images images = new PixelProducts.Images(n, c, (long) h * w);
        PixelProducts.Window window = new PixelProducts.Window(h, w, kh, kw, stride, stride,
                t[7], t[9], outH, outW);
        try (Tensor x = random(random, -1, 1, xShape);
                Tensor weight = random(random, -0.5, 0.5, wShape);
                Tensor bias = random(random, -0.5, 0.5, o);
                Tensor residual = random(random, -1, 1, yShape);
                Tensor padded = Tensor.zeros(yShape);
                Tensor packed = Tensor.zeros(yShape)) {
            products.convolvePadded(images, window, x.segment(), o, weight.segment(), null,
                    withBias ? bias.segment() : null, act, padded.segment(),
                    withResidual ? residual.segment() : null);
            products.convolve(images, window, x.segment(), o, weight.segment(), null,
                    withBias ? bias.segment() : null, act, packed.segment(),
                    withResidual ? residual.segment() : null);
            assertArrayEquals(packed.toFloatArray(), padded.toFloatArray(), what);
            if (!withReference) {
                return;
            }
            double[] expected = Reference.conv2d(x.toFloatArray(), xShape,
                    weight.toFloatArray(), wShape, withBias ? bias.toFloatArray() : null, spec,
                    act);
            if (withResidual) {
                float[] r = residual.toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    expected[i] += r[i];
                }
            }
            assertClose(what, expected, padded.toFloatArray(), 2e-6);
        }
    }

    @Test
    void imagesCutIntoBandsGiveTheSameBits() {
        // 8 channels of 514-float padded rows: bands of 13 output rows, the last of 5
        int[] tall = {1, 8, 512, 512, 4, 3, 3, 1, 1, 1, 1};
        PixelProducts.Window tallBand = PixelProducts.band(8, window(tall));
        assertEquals(13, tallBand.outH());
        assertEquals(5, 512 - 39 * 13);
        // rows half a strip wide (14 floats with 16-float vectors), channels for 9,600-float
        // padded rows: bands of 4 rows (the last of 2), strips across their rows, the last
        // strip of a band past its last row
        int narrow = PixelProducts.NR / 2 - 2;
        int[] across = {2, 9600 / (narrow + 2), 14, narrow, 7, 3, 3, 1, 1, 1, 1};
        PixelProducts.Window acrossBand = PixelProducts.band(across[1], window(across));
        assertEquals(4, acrossBand.outH());
        assertEquals(0, PixelProducts.PaddedStrips.of(acrossBand).perRow());
        // one output row's copy alone past the limit: bands of one row
        int[] wide = {1, 200, 3, 400, 5, 3, 3, 1, 1, 1, 1};
        assertEquals(1, PixelProducts.band(200, window(wide)).outH());
        SplittableRandom random = new SplittableRandom(19);
        for (int threads : new int[] {1, 3}) {
            try (WorkerPool workers = new WorkerPool(threads)) {
                PixelProducts products = new PixelProducts(workers);
                for (int[] t : new int[][] {tall, across, wide}) {
                    check(products, t, random, Activation.SILU, true, true, false);
                }
                // and a small one after them, from the buffer the large bands grew
                check(products, CASES[0], random, Activation.SILU, true, true, true);
            }
        }
    }

    /** The window of a CASES-style shape, stride 1. */
    private static PixelProducts.Window window(int[] t) {
        return new PixelProducts.Window(t[2], t[3], t[5], t[6], 1, 1, t[7], t[9],
                t[2] + t[7] + t[8] - t[5] + 1, t[3] + t[9] + t[10] - t[6] + 1);
    }

    @Test
    void stripsByRowWhereTheyDropLess() {
        // 32 wide: a strip per row, nothing dropped
        PixelProducts.PaddedStrips rows = PixelProducts.PaddedStrips.of(window(32, 32));
        assertTrue(rows.perRow() > 0);
        assertEquals(0.0, rows.share());
        assertEquals(34, rows.pitch());
        // rows half a strip wide (14 with 16-float vectors): strips across rows, the last
        // image strip partly past the end
        int narrow = PixelProducts.NR / 2 - 2;
        PixelProducts.PaddedStrips across =
                PixelProducts.PaddedStrips.of(window(14, narrow));
        assertEquals(0, across.perRow());
        assertEquals(narrow + 2, across.pitch());
        long last = 13L * (narrow + 2) + narrow;
        assertEquals((last + PixelProducts.NR - 1) / PixelProducts.NR, across.perImage());
        assertEquals(1 - 14.0 * narrow / (across.perImage() * PixelProducts.NR), across.share(),
                1e-12);
        // strip starts: by row, the next row's strips start a pitch further on
        assertEquals(rows.pitch(), rows.start(rows.perRow()));
        assertEquals(PixelProducts.NR * 3L, across.start(3));
        // stride 2: always by row, an output row two padded rows of two phases on
        PixelProducts.Window stem = new PixelProducts.Window(14, 2 * narrow, 3, 3, 2, 2, 0,
                0, 6, narrow - 1);
        PixelProducts.PaddedStrips strided = PixelProducts.PaddedStrips.of(stem);
        assertEquals(1, strided.perRow());
        assertEquals(2 * narrow, strided.pitch());
        assertEquals(6, strided.perImage());
        assertEquals(1 - (narrow - 1.0) / PixelProducts.NR, strided.share(), 1e-12);
    }

    @Test
    void onlyFewOutputChannelsAndLittleDroppedTakeThePaddedCopy() {
        assertTrue(padded(25, 24, 64, 64, 24, 1));
        assertTrue(padded(25, 48, 32, 32, 48, 1));
        assertTrue(padded(25, 64, 16, 16, 64, 1));
        assertFalse(padded(25, 48, 32, 32, 192, 1), "many output channels");
        assertFalse(padded(25, 64, 8, 8, 64, 1), "8×8: a third of the products dropped");
        // 128 outputs a row: whole strips for any vector width (EfficientNetV2-S's stem at
        // 224 has 112, which drop 12.5 % of the products where strips are 32 pixels wide)
        assertTrue(padded(5, 3, 256, 256, 24, 2), "an image stem, stride 2");
        assertFalse(padded(5, 24, 112, 112, 96, 2), "strided, many output channels");
    }

    private static boolean padded(int n, int c, int h, int w, int o, int stride) {
        Conv2dSpec spec = Conv2dSpec.symmetric(stride, 1, 1, 1);
        int outH = (h + 2 - 3) / stride + 1;
        int outW = (w + 2 - 3) / stride + 1;
        Convolutions.Geometry g = new Convolutions.Geometry(n, c, h, w, o, 3, 3, outH, outW,
                spec);
        return Convolutions.windowed(g) && Convolutions.fromPaddedCopy(g,
                new PixelProducts.Window(h, w, 3, 3, stride, stride, 1, 1, outH, outW));
    }

    private static PixelProducts.Window window(int h, int w) {
        return new PixelProducts.Window(h, w, 3, 3, 1, 1, 1, 1, h, w);
    }
}
