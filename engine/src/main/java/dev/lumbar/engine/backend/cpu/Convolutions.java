package dev.lumbar.engine.backend.cpu;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The ways the CPU backend convolves NCHW images:
 * <ul>
 * <li>1×1, stride 1, unpadded, one group: over small images of a batch, one product across
 *     all their pixels with the engine's own kernel ({@link PixelProducts}); otherwise one
 *     matrix product per image, {@code [O, C] × [C, H·W]};</li>
 * <li>dense, one group, dilation 1, horizontal stride 1 or 2: {@link PixelProducts} packs
 *     each strip of output pixels' windows (im2col without its buffer, from the input or
 *     from a small padded copy of the rows a block reads), or, stride 1 (or 2 both ways,
 *     the copy split by column phase) with few output channels, reads them from a
 *     zero-padded copy of the input with nothing packed;</li>
 * <li>depthwise (one input and one output channel per group): each plane is copied once into a
 *     zero-padded buffer (split by column phase when strided), then every output vector sums
 *     all kernel taps in a register; planes of at most half a vector go channel-blocked;</li>
 * <li>everything else (grouped, dilated, wider strides): im2col in tiles of output pixels,
 *     then a matrix product per group.</li>
 * </ul>
 * Bias and activation are applied as each part of the output is finished: by the matrix
 * product's epilogue on blocks still in cache, on each register tile as it is written, or
 * over each depthwise plane as it leaves per-thread scratch.
 */
final class Convolutions {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /** Lane i takes lane 2i (even) or 2i + 1 (odd) of two vectors laid end to end. */
    static final VectorShuffle<Float> EVEN_LANES = VectorShuffle.fromOp(S, i -> 2 * i);
    static final VectorShuffle<Float> ODD_LANES =
            VectorShuffle.fromOp(S, i -> 2 * i + 1);

    /** A single image with fewer pixels than this has its 1×1 convolutions on the GEMM. */
    private static final long BATCHED_PLANE = 256;

    /**
     * im2col tiles hold about this many floats (512 KiB, within a core's L2), but are never
     * narrower than {@link #MIN_TILE_COLUMNS} output pixels, below which the product slows.
     */
    private static final long COLUMN_TILE_FLOATS = 1L << 17;
    private static final int MIN_TILE_COLUMNS = 64;
    /** Convolutions of one or two images are cut into at least this many tiles if they can. */
    private static final int MIN_TASKS = 8;

    /**
     * Convolutions from a padded copy: at most this many output channels, and at most this
     * share of the products dropped. Packing the windows costs most where few output
     * channels share each packed strip: from the copy, 3×3 convolutions of 24 and 48 output
     * channels ran 20–37 % faster, 64 over 16×16 images (11 % dropped) 7 % faster, 96 level
     * and 192 up to 5 % slower.
     */
    private static final int PADDED_MAX_OUTPUTS = 64;
    private static final double PADDED_MAX_SHARE = 0.12;

    /** Output pixels per row that the channel-blocked depthwise row kernel keeps in registers. */
    static final int ROW_PIXELS = 8;

    /**
     * The widest stride-1 output rows a depthwise convolution takes channel-blocked rather
     * than row by row. The same width with 16 lanes and with 8: with 16, 3×3 over 14×14 and
     * 7×7 over 14×14 and 16×16 ran 9–28 % faster channel-blocked, 7×7 over 32×32 17 % slower
     * and over 56×56 level; with 8 (where the row kernels' vectors hold half as many pixels),
     * 7×7 over {@code [5, 384, 14, 14]} 1.69–1.83 ms against 2.47–2.65 row by row and over
     * {@code [25, 192, 16, 16]} 10–20 % faster, over 28×28 level, over 32×32 level to 13 %
     * slower and over 56×56 17–26 % slower (one thread, the two alternating in one process).
     */
    static final int BLOCKED_ROWS_MAX = 16;

    /**
     * Whether the channel-blocked rows of dilation 1 take {@link #slidingSegment}: with
     * 16-float vectors, whose cores (AVX-512) have 32 vector registers for its eight sums,
     * eight inputs and a weight. With 8-float vectors (AVX2: 16 registers) they spill and it
     * ran slower than tap by tap: 7×7 over {@code [5, 384, 14, 14]} 0.85 ms against 0.63 on one
     * thread, where with 16 floats it ran 0.34 against 0.58 (3×3 over {@code [5, 960, 14, 14]}
     * 0.50 against 0.59).
     */
    static final boolean SLIDING_SEGMENTS = L >= 16;

    /** Depthwise planes are shared among workers in chunks of about this many outputs. */
    private static final long DEPTHWISE_CHUNK_OUTPUTS = 4096;

    private final WorkerPool workers;
    private final Gemm gemm;
    private final ThreadLocal<float[]> planes = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> strided = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> kernels = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> inputLine = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> meanScratch = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> columnLine = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> channelPlanes = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> channelBlocks = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> channelSums = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<MemorySegment> staging =
            ThreadLocal.withInitial(() -> MemorySegment.NULL);
    private final ThreadLocal<MemorySegment> columns =
            ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private final PixelProducts pixelProducts;
    private final InvertedResiduals invertedResiduals;

    Convolutions(WorkerPool workers, Gemm gemm) {
        this.workers = workers;
        this.gemm = gemm;
        this.pixelProducts = new PixelProducts(workers);
        this.invertedResiduals = new InvertedResiduals(workers, pixelProducts);
    }

    /** Inverted-residual blocks kept channel-blocked between their layers. */
    InvertedResiduals invertedResiduals() {
        return invertedResiduals;
    }

    /** Shapes of one convolution call, checked by the caller. */
    record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int outH, int outW,
            Conv2dSpec spec) {
        int groups() {
            return spec.groups();
        }

        /** The input as the engine's own products take it. */
        PixelProducts.Images images() {
            return new PixelProducts.Images(n, c, (long) h * w);
        }

        /** The window of a {@link #windowed} convolution, as the engine's products take it. */
        PixelProducts.Window window() {
            return new PixelProducts.Window(h, w, kh, kw, spec.strideH(), spec.strideW(),
                    spec.padTop(), spec.padLeft(), outH, outW);
        }

        boolean pointwise() {
            return kh == 1 && kw == 1 && spec.strideH() == 1 && spec.strideW() == 1
                    && spec.padTop() == 0 && spec.padBottom() == 0 && spec.padLeft() == 0
                    && spec.padRight() == 0 && spec.groups() == 1;
        }

        boolean depthwise() {
            return spec.groups() == c && o == c;
        }
    }

    /**
     * Whether a 1×1 convolution runs as one product across the images of the batch
     * ({@link PixelProducts}): all of them but a single small image, and not one channel to
     * one channel, which is also depthwise and goes to the depthwise kernel. Only such
     * convolutions can apply a squeeze-excite gate as they pack their input. A single image
     * under {@link #BATCHED_PLANE} pixels goes to the general product: cut by pixels into
     * enough blocks for the workers, the engine's product would stream all the weights once
     * per block of a strip or two (a 14×14 image, 160 → 960 channels, ran 30 % slower), where
     * on larger images, one or several, it ran level with OpenBLAS or up to 17 % faster.
     */
    static boolean acrossImages(Geometry g) {
        return g.pointwise() && !g.depthwise() && (g.n > 1 || (long) g.h * g.w >= BATCHED_PLANE);
    }

    /**
     * Whether a convolution adds a residual as it writes its output: those on
     * {@link PixelProducts}, the 1×1 ones {@link #acrossImages} and the {@link #windowed}
     * dense ones.
     */
    static boolean addsResidual(Geometry g) {
        return acrossImages(g) || windowed(g);
    }

    /**
     * Whether a channel MLP (two 1×1 convolutions) can run fused, its hidden layer kept
     * per block of pixels ({@link PixelProducts#channelMlp}): any 1×1 convolution that is not
     * depthwise, whatever the images.
     */
    static boolean fusedMlp(Geometry g) {
        return g.pointwise() && !g.depthwise();
    }

    /**
     * Whether a dense convolution runs on {@link PixelProducts#convolve}, packing its windows
     * block by block: one group, dilation 1, a horizontal stride of 1 or 2, any
     * vertical stride (1×1 with stride 1 is the pointwise case). Grouped, dilated and wider
     * strided ones go through im2col tiles.
     */
    static boolean windowed(Geometry g) {
        Conv2dSpec s = g.spec;
        return !g.pointwise() && !g.depthwise() && s.groups() == 1
                && (s.strideW() == 1 || s.strideW() == 2) && s.dilationH() == 1
                && s.dilationW() == 1;
    }

    /**
     * Whether a {@link #windowed} convolution reads its windows from a zero-padded copy
     * ({@link PixelProducts#convolvePadded}) instead of packing them: stride 1, or 2 both
     * ways (an image stem's), at most {@link #PADDED_MAX_OUTPUTS} output channels and
     * {@link #PADDED_MAX_SHARE} of the products dropped.
     */
    static boolean fromPaddedCopy(Geometry g, PixelProducts.Window window) {
        boolean stride = g.spec.strideH() == g.spec.strideW()
                && (g.spec.strideW() == 1 || g.spec.strideW() == 2);
        return stride && g.o <= PADDED_MAX_OUTPUTS
                && PixelProducts.paddedShare(g.c, window) <= PADDED_MAX_SHARE;
    }

    /**
     * {@code y = act(conv(x ⊙ gate) + bias)}; {@code gate} ([N, C]) is null for none and may
     * only be given where {@link #acrossImages} holds. {@code constant} is, for a weight that
     * never changes (one the backend uploaded), the object its packed form is kept under, and
     * null for any other weight (see {@link PixelProducts}). {@code residual} (the shape of
     * y) is added to the output, after the activation; null for none, and given only where
     * {@link #addsResidual} holds.
     */
    void convolve(Geometry g, MemorySegment x, MemorySegment gate, MemorySegment weight,
            Object constant, MemorySegment bias, MemorySegment y, Activation act,
            MemorySegment residual) {
        if (gate != null && !acrossImages(g)) {
            throw new IllegalArgumentException("a gate cannot be folded into this convolution");
        }
        if (residual != null && !addsResidual(g)) {
            throw new IllegalArgumentException("a residual cannot be added in this convolution");
        }
        if (g.depthwise()) {
            depthwise(g, x, weight, bias, y, act, null);
            return;
        }
        if (acrossImages(g)) {
            pointwiseAcrossImages(g, x, gate, weight, constant, bias, y, act, residual);
            return;
        }
        if (windowed(g)) {
            PixelProducts.Images images = g.images();
            PixelProducts.Window window = g.window();
            if (Winograd.fits(window, g.c, g.o)) {
                pixelProducts.convolveWinograd(images, window, x, g.o, weight, constant, bias,
                        act, y, residual);
            } else if (fromPaddedCopy(g, window)) {
                pixelProducts.convolvePadded(images, window, x, g.o, weight, constant, bias,
                        act, y, residual);
            } else {
                pixelProducts.convolve(images, window, x, g.o, weight, constant, bias, act, y,
                        residual);
            }
            return;
        }
        if (g.pointwise()) {
            long plane = (long) g.h * g.w;
            gemm.multiply(g.n, g.o, Math.toIntExact(plane), g.c,
                    weight, 0, 0, g.c, false,
                    x, 0, g.c * plane, Math.toIntExact(plane), false,
                    y, 0, g.o * plane, Math.toIntExact(plane), false,
                    Gemm.Epilogue.of(bias, 0, act));
        } else {
            im2colProducts(g, x, weight, bias, y, act);
        }
    }

    /**
     * A 1×1 convolution over small images as one product {@code [O, C] × [C, N·H·W]}, read
     * from and written to NCHW as it goes; a squeeze-excite gate (null for none) scales the
     * input as it is packed, so it costs no pass of its own.
     */
    private void pointwiseAcrossImages(Geometry g, MemorySegment x, MemorySegment gate,
            MemorySegment weight, Object constant, MemorySegment bias, MemorySegment y,
            Activation act, MemorySegment residual) {
        pixelProducts.pointwise(g.images(), x, gate, g.o, weight, constant, bias, act, y,
                residual);
    }

    /**
     * Whether a convolution ({@code first}) and a 1×1 convolution of its output
     * ({@code second}) can run as one pass of products over blocks of pixels
     * ({@link PixelProducts#convolveProjected}): a {@link #windowed} dense convolution, then
     * a pointwise one that is not also depthwise.
     */
    static boolean projectsPerBlock(Geometry first, Geometry second) {
        return windowed(first) && second.pointwise() && !second.depthwise()
                && second.c == first.o;
    }

    /**
     * {@code y = act2(conv(act(conv(x, W1) + b1), W2) + b2) + residual} where
     * {@link #projectsPerBlock} holds, the first convolution's output kept per block of
     * pixels; b1, b2 and residual (the shape of y) may be null. The same bits as
     * {@link #convolve} of each in turn where the second runs {@link #acrossImages}.
     */
    void convolveProjected(Geometry first, Geometry second, MemorySegment x, MemorySegment w1,
            Object constant1, MemorySegment b1, Activation act, MemorySegment w2,
            Object constant2, MemorySegment b2, Activation act2, MemorySegment residual,
            MemorySegment y) {
        if (!projectsPerBlock(first, second)) {
            throw new IllegalArgumentException("these convolutions cannot run per block");
        }
        pixelProducts.convolveProjected(first.images(), first.window(), x, first.o, w1,
                constant1, b1, act, second.o, w2, constant2, b2, act2, residual, y);
    }

    /**
     * {@code y = x · Wᵀ} for a few rows (x {@code [rows, k]}, W {@code [outs, k]}, y
     * {@code [rows, outs]}), W kept transposed under {@code constant} (null: none).
     */
    void rowProducts(MemorySegment x, int rows, int k, MemorySegment w, Object constant,
            int outs, MemorySegment y) {
        pixelProducts.rowProducts(x, rows, k, w, constant, outs, y);
    }

    /** How many constant weights have their packed strips kept (for tests). */
    int keptWeights() {
        return pixelProducts.keptWeights();
    }

    /**
     * A ConvNeXt-style channel MLP, {@code residual + scale ⊙ (W2 · act(W1 · x + b1) + b2)},
     * its hidden layer kept per block of pixels. Each output is the same chain of operations
     * as the separate calls where those run {@link #acrossImages} (the same sums, then bias
     * add, activation, bias add, scale multiply, residual add), so the two give the same bits
     * there. {@code constant1} and {@code constant2} are the objects the two weights' packed
     * forms are kept under, or null (see {@link #convolve}). With a {@code norm} (null for
     * none), x is normalized across channels as it is packed, with the bits of
     * {@code layerNormChannels} before the MLP.
     */
    void channelMlp(Geometry g, MemorySegment x, PixelProducts.ChannelNorm norm,
            MemorySegment w1, MemorySegment b1, Activation act, int out, MemorySegment w2,
            MemorySegment b2, MemorySegment scale, MemorySegment residual, MemorySegment y,
            Object constant1, Object constant2) {
        pixelProducts.channelMlp(g.images(), x, norm, g.o, w1, b1, act, out, w2, b2, scale,
                residual, y, constant1, constant2);
    }

    // ---- im2col + matrix product ------------------------------------------------------------

    private void im2colProducts(Geometry g, MemorySegment x, MemorySegment weight,
            MemorySegment bias, MemorySegment y, Activation act) {
        // (image, group, column tile) tasks, each on one worker: it fills the tile's columns
        // into its own scratch, multiplies and applies the epilogue while the tile and the
        // output block are still in its cache. The tile is sized to stay in a core's L2.
        // LIMITATION: grouped convolutions with many small groups (other than depthwise) are
        // correct but slow: each group is its own small product.
        int groups = g.groups();
        int cg = g.c / groups;
        int og = g.o / groups;
        int rows = cg * g.kh * g.kw;
        int pixels = g.outH * g.outW;
        int tile = (int) Math.min(pixels,
                Math.max(MIN_TILE_COLUMNS, COLUMN_TILE_FLOATS / Math.max(1, rows)));
        while ((long) g.n * groups * ((pixels + tile - 1) / tile) < MIN_TASKS
                && tile >= 2 * MIN_TILE_COLUMNS) {
            // one image: narrower tiles, so that several threads have some. By the shape,
            // not the thread count, so that results do not depend on the number of threads.
            tile /= 2;
        }
        if (tile < pixels) {
            // equal tiles, so that no task is a sliver
            int tiles = (pixels + tile - 1) / tile;
            tile = (pixels + tiles - 1) / tiles;
        }
        int width = tile;
        int tiles = (pixels + width - 1) / width;
        long inPlane = (long) g.h * g.w;
        long outPlane = pixels;
        workers.forEach(g.n * groups * tiles, t -> {
            int n = t / (groups * tiles);
            int gi = t / tiles % groups;
            int p0 = t % tiles * width;
            int span = Math.min(width, pixels - p0);
            long xBase = ((long) n * g.c + (long) gi * cg) * inPlane;
            MemorySegment col = scratch(columns, (long) rows * span);
            for (int r = 0; r < rows; r++) {
                if (g.spec.strideW() == 1) {
                    columnRow(g, x, xBase, r, p0, span, col);
                } else {
                    stridedColumnRow(g, x, xBase, r, p0, span, col);
                }
            }
            gemm.multiplyPiece(og, span, rows,
                    weight, (long) gi * og * rows, rows, false,
                    col, 0, span, false,
                    y, ((long) n * g.o + (long) gi * og) * outPlane + p0, pixels,
                    Gemm.Epilogue.of(bias, (long) gi * og, act));
        });
    }

    /**
     * Row {@code r = (ci · kh + ky) · kw + kx} of the column matrix for output pixels
     * [p0, p0 + width): the input value under kernel tap (ky, kx) of channel ci, or zero where
     * the tap falls on padding. For a horizontal stride of 1; {@link #stridedColumnRow} takes
     * the others.
     */
    private static void columnRow(Geometry g, MemorySegment x, long xBase, int r, int p0,
            int width, MemorySegment col) {
        Conv2dSpec s = g.spec;
        int kx = r % g.kw;
        int ky = (r / g.kw) % g.kh;
        int ci = r / (g.kw * g.kh);
        long plane = xBase + (long) ci * g.h * g.w;
        long dst = (long) r * width;
        int p = p0;
        int end = p0 + width;
        while (p < end) {
            int oy = p / g.outW;
            int ox0 = p % g.outW;
            int ox1 = Math.min(g.outW, ox0 + (end - p));
            int iy = oy * s.strideH() - s.padTop() + ky * s.dilationH();
            long at = dst + (p - p0);
            if (iy < 0 || iy >= g.h) {
                col.asSlice(at * Float.BYTES, (long) (ox1 - ox0) * Float.BYTES).fill((byte) 0);
            } else {
                long row = plane + (long) iy * g.w;
                int shift = kx * s.dilationW() - s.padLeft();
                for (int ox = ox0; ox < ox1; ) {
                    int ix = ox * s.strideW() + shift;
                    if (ix < 0 || ix >= g.w) {
                        col.setAtIndex(F32, at + (ox - ox0), 0f);
                        ox++;
                    } else {
                        // a contiguous run of valid taps (stride 1)
                        int run = Math.min(ox1 - ox, g.w - ix);
                        MemorySegment.copy(x, (row + ix) * Float.BYTES,
                                col, (at + (ox - ox0)) * Float.BYTES, (long) run * Float.BYTES);
                        ox += run;
                    }
                }
            }
            p += ox1 - ox0;
        }
    }

    /**
     * {@link #columnRow} for a horizontal stride: each input row is copied to the heap once
     * and its taps picked from there, rather than read one float at a time off-heap.
     */
    private void stridedColumnRow(Geometry g, MemorySegment x, long xBase, int r, int p0,
            int width, MemorySegment col) {
        Conv2dSpec s = g.spec;
        int kx = r % g.kw;
        int ky = (r / g.kw) % g.kh;
        int ci = r / (g.kw * g.kh);
        long plane = xBase + (long) ci * g.h * g.w;
        int shift = kx * s.dilationW() - s.padLeft();
        float[] line = buffer(inputLine, g.w);
        float[] out = buffer(columnLine, width);
        int end = p0 + width;
        for (int p = p0; p < end; ) {
            int oy = p / g.outW;
            int ox0 = p % g.outW;
            int ox1 = Math.min(g.outW, ox0 + (end - p));
            int iy = oy * s.strideH() - s.padTop() + ky * s.dilationH();
            int at = p - p0 - ox0;
            if (iy < 0 || iy >= g.h) {
                java.util.Arrays.fill(out, at + ox0, at + ox1, 0f);
            } else {
                MemorySegment.copy(x, F32, (plane + (long) iy * g.w) * Float.BYTES, line, 0,
                        g.w);
                for (int ox = ox0; ox < ox1; ox++) {
                    int ix = ox * s.strideW() + shift;
                    out[at + ox] = ix >= 0 && ix < g.w ? line[ix] : 0f;
                }
            }
            p += ox1 - ox0;
        }
        MemorySegment.copy(out, 0, col, F32, (long) r * width * Float.BYTES, width);
    }

    /** A scratch buffer of at least {@code floats} floats, reused by the calling thread. */
    private static MemorySegment scratch(ThreadLocal<MemorySegment> slot, long floats) {
        MemorySegment buffer = slot.get();
        long bytes = floats * Float.BYTES;
        if (buffer.byteSize() < bytes) {
            // an automatic arena: any worker may fill it, and the collector frees it
            buffer = Arena.ofAuto().allocate(bytes, 64);
            slot.set(buffer);
        }
        return buffer.asSlice(0, bytes);
    }

    // ---- depthwise ---------------------------------------------------------------------------

    /**
     * A depthwise convolution ({@link Geometry#depthwise}) as {@link #convolve} computes it,
     * that also writes the mean of every output plane to {@code means} ({@code [N, C]}) while
     * the plane is still in cache, rather than a pool reading the whole output again. The
     * means are {@link Reductions#planeMeans}', so the bits of a pool of y where every image's
     * planes start at a multiple of 16 (C a multiple of 16, or one image).
     */
    void depthwiseWithMeans(Geometry g, MemorySegment x, MemorySegment weight,
            MemorySegment bias, MemorySegment y, Activation act, MemorySegment means) {
        if (!g.depthwise()) {
            throw new IllegalArgumentException("not a depthwise convolution");
        }
        depthwise(g, x, weight, bias, y, act, means);
    }

    private void depthwise(Geometry g, MemorySegment x, MemorySegment weight,
            MemorySegment bias, MemorySegment y, Activation act, MemorySegment means) {
        Conv2dSpec s = g.spec;
        int paddedH = g.h + s.padTop() + s.padBottom();
        int paddedW = g.w + s.padLeft() + s.padRight();
        // rows of at most half a vector and, where L × L transposes move the planes, stride-1
        // rows up to BLOCKED_ROWS_MAX wide
        if (g.outW <= L / 2 || Transposes.available() && s.strideH() == 1 && s.strideW() == 1
                && g.outW <= BLOCKED_ROWS_MAX) {
            depthwiseAcrossChannels(g, x, weight, bias, y, act, means);
            return;
        }
        int phaseW = (paddedW + s.strideW() - 1) / s.strideW();
        int rowW = s.strideW() == 1 ? paddedW : phaseW;
        int[] tapOffset = tapOffsets(g, rowW, s.strideW() == 1 ? 0 : paddedH * phaseW);
        int taps = g.kh * g.kw;
        long outPlane = (long) g.outH * g.outW;
        // planes in chunks of a few thousand outputs: small planes are then not each a task;
        // with means, whole groups of 16 planes, as the means of a pool are grouped
        long planes = (long) g.n * g.c;
        long unit = means == null ? 1 : 16;
        long grain = Math.max(1, DEPTHWISE_CHUNK_OUTPUTS / (unit * outPlane));
        workers.forChunks((planes + unit - 1) / unit, grain, (u0, u1) -> {
            long from = unit * u0;
            long to = Math.min(planes, unit * u1);
            float[] w = buffer(kernels, taps);
            MemorySegment sums = scratch(staging, outPlane + 2L * L);
            for (int p = (int) from; p < to; p++) {
                int channel = p % g.c;
                float[] padded = paddedPlane(g, x, (long) p * g.h * g.w, paddedH, paddedW);
                MemorySegment.copy(weight, F32, (long) channel * taps * Float.BYTES, w, 0, taps);
                float b = bias == null ? 0f : bias.getAtIndex(F32, channel);
                float[] source = s.strideW() == 1 ? padded
                        : phases(padded, paddedH, paddedW, s.strideW(), phaseW);
                // the plane is summed into scratch with whole-vector stores, bias included,
                // then the activation runs once over the contiguous plane, not once per row
                depthwiseRows(g, source, rowW, tapOffset, w, b, sums);
                Pointwise.biasActivate(sums, 0, y, (long) p * outPlane * Float.BYTES, outPlane,
                        0f, act);
            }
            if (means != null) {
                Reductions.planeMeans(y, from, to - from, outPlane, planes, means,
                        buffer(meanScratch, 2 * 16 * 16));
            }
        });
    }

    /**
     * Depthwise convolution of planes at most half a vector wide (8×8, 7×7 and 4×4 at the end
     * of a backbone) or, with vectors of 16 or 8 floats, of stride-1 planes up to a vector
     * wide, with the vector across channels instead of along a row: L channels of one image
     * are moved into a padded {@code [H, W, L]} block (by L × L transposes where vectors
     * hold 16 or 8 floats, else by gathers), every output pixel sums its taps as whole
     * vectors, and the sums are moved back to the channels' planes. Each output is the same
     * chain of multiply-adds as in the row-wise kernel (bias, then the taps in order), so the
     * two give the same bits for finite weights.
     */
    private void depthwiseAcrossChannels(Geometry g, MemorySegment x, MemorySegment weight,
            MemorySegment bias, MemorySegment y, Activation act, MemorySegment means) {
        // LIMITATION: the transposes (or, with 4-lane vectors, gathers) into and out of
        // the channel-blocked layout cost more than the sums of a 3×3 kernel; activations kept
        // channel-blocked between layers would need none.
        Conv2dSpec s = g.spec;
        int paddedH = g.h + s.padTop() + s.padBottom();
        int paddedW = g.w + s.padLeft() + s.padRight();
        int inPlane = g.h * g.w;
        int outPlane = g.outH * g.outW;
        int taps = g.kh * g.kw;
        int blocks = (g.c + L - 1) / L;
        int[] inLanes = new int[L];
        int[] pixelLanes = new int[L];
        for (int lane = 0; lane < L; lane++) {
            inLanes[lane] = lane * inPlane;
            pixelLanes[lane] = lane * L;
        }
        float[] tapWeights = channelBlockedTaps(g, weight);
        float[] biases = channelBlockedBiases(g, bias);
        int[] tapOffset = new int[taps];
        for (int ky = 0, t = 0; ky < g.kh; ky++) {
            for (int kx = 0; kx < g.kw; kx++, t++) {
                tapOffset[t] = (ky * s.dilationH() * paddedW + kx * s.dilationW()) * L;
            }
        }
        // with 16 or 8 lanes, planes go in and out of the blocked layout by L × L transposes
        // rather than one gather per pixel or per channel. A plane that is not whole vectors
        // ends in a partial transpose: on the way in, its rows past the plane's end land in a
        // scratch area after the block; on the way out, it runs first, and what it writes past
        // each channel's plane the next channel's own rows then overwrite.
        boolean transposed = Transposes.available();
        int blockFloats = (paddedH * paddedW + ROW_PIXELS) * L;
        int[][] inRows = new int[(inPlane + L - 1) / L][L];
        int[][] outRows = new int[(outPlane + L - 1) / L][L];
        if (transposed) {
            for (int p = 0; p < inRows.length * L; p++) {
                int iy = p / g.w;
                int ix = p % g.w;
                inRows[p / L][p % L] = p >= inPlane ? blockFloats + (p % L) * L
                        : ((iy + s.padTop()) * paddedW + s.padLeft() + ix) * L;
            }
            for (int p0 = 0; p0 < outPlane; p0 += L) {
                for (int c = 0; c < L; c++) {
                    outRows[p0 / L][c] = c * outPlane + p0;
                }
            }
        }
        long grain = Math.max(1, DEPTHWISE_CHUNK_OUTPUTS / ((long) outPlane * L));
        boolean rowsInRegisters = s.strideH() == 1 && s.strideW() == 1;
        workers.forChunks((long) g.n * blocks, grain, (from, to) -> {
            // a vector past the last plane: a partial transpose reads and writes there
            float[] planes = buffer(channelPlanes, L * Math.max(inPlane, outPlane) + L);
            // room past the end for the row kernel's unused pixels, then the scratch rows of a
            // partial transpose
            float[] block = buffer(channelBlocks, blockFloats + L * L);
            // whole vectors of pixels: the gathers back check every lane, used or not; and
            // room for the row kernel's unused pixels, up to ROW_PIXELS past the last row's
            // start (more than one vector of pixels when vectors hold fewer than 8 floats)
            int sumPixels = (outPlane + L - 1) / L * L + Math.max(L, ROW_PIXELS);
            float[] sums = buffer(channelSums, sumPixels * L);
            java.util.Arrays.fill(block, 0, blockFloats, 0f);
            for (long task = from; task < to; task++) {
                int n = (int) (task / blocks);
                int b = (int) (task % blocks);
                int c0 = b * L;
                int lanesUsed = Math.min(L, g.c - c0);
                VectorMask<Float> lanes = S.indexInRange(0, lanesUsed);
                long channel0 = (long) n * g.c + c0;

                // gather: one vector of L channels per input pixel, into the padded block
                MemorySegment.copy(x, F32, channel0 * inPlane * Float.BYTES, planes, 0,
                        lanesUsed * inPlane);
                if (transposed) {
                    // the channels past the last are zero, not the previous block's
                    java.util.Arrays.fill(planes, lanesUsed * inPlane, L * inPlane + L, 0f);
                    for (int p0 = 0; p0 < inPlane; p0 += L) {
                        Transposes.transpose(planes, p0, inPlane, block, inRows[p0 / L]);
                    }
                } else {
                    for (int iy = 0; iy < g.h; iy++) {
                        int row = ((iy + s.padTop()) * paddedW + s.padLeft()) * L;
                        for (int ix = 0; ix < g.w; ix++) {
                            FloatVector pixel = lanesUsed == L
                                    ? FloatVector.fromArray(S, planes, iy * g.w + ix, inLanes, 0)
                                    : FloatVector.fromArray(S, planes, iy * g.w + ix, inLanes,
                                            0, lanes);
                            pixel.intoArray(block, row + ix * L);
                        }
                    }
                }

                // every output pixel: bias, then each tap's multiply-add, across L channels
                int w0 = b * taps * L;
                if (rowsInRegisters) {
                    channelBlockRows(g, block, tapWeights, w0, biases, c0, paddedW, sums);
                } else {
                    channelBlockPixels(g, block, tapWeights, w0, biases, c0, paddedW,
                            tapOffset, sums);
                }

                // scatter back to the channels' planes, then the activation over them in place
                if (transposed) {
                    int last = (outPlane - 1) / L;
                    Transposes.transpose(sums, last * L * L, L, planes, outRows[last]);
                    for (int chunk = 0; chunk < last; chunk++) {
                        Transposes.transpose(sums, chunk * L * L, L, planes, outRows[chunk]);
                    }
                } else {
                    for (int c = 0; c < lanesUsed; c++) {
                        // L pixels of channel c at a time, gathered (gathers are cheaper than
                        // scatters); pixelLanes holds 0, L, 2L, ...
                        for (int p = 0; p < outPlane; p += L) {
                            if (p + L <= outPlane) {
                                FloatVector.fromArray(S, sums, p * L + c, pixelLanes, 0)
                                        .intoArray(planes, c * outPlane + p);
                            } else {
                                VectorMask<Float> tail = S.indexInRange(p, outPlane);
                                FloatVector.fromArray(S, sums, p * L + c, pixelLanes, 0, tail)
                                        .intoArray(planes, c * outPlane + p, tail);
                            }
                        }
                    }
                }
                long out = channel0 * outPlane * Float.BYTES;
                MemorySegment.copy(planes, 0, y, F32, out, lanesUsed * outPlane);
                if (act != Activation.IDENTITY) {
                    // the bias is already in the sums; nothing is left to do for identity
                    Pointwise.biasActivate(y, out, y, out, (long) lanesUsed * outPlane, 0f, act);
                }
                if (means != null) {
                    Reductions.planeMeans(y, channel0, lanesUsed, outPlane, (long) g.n * g.c,
                            means, buffer(meanScratch, 2 * 16 * 16));
                }
            }
        });
    }

    /**
     * A depthwise weight with the channel innermost, for the channel-blocked kernels: tap t
     * of block b at {@code (b · taps + t) · L}, zero past the last channel.
     */
    static float[] channelBlockedTaps(Geometry g, MemorySegment weight) {
        int taps = g.kh * g.kw;
        float[] tapWeights = new float[(g.c + L - 1) / L * taps * L];
        for (int c = 0; c < g.c; c++) {
            for (int t = 0; t < taps; t++) {
                tapWeights[((c / L) * taps + t) * L + c % L] =
                        weight.getAtIndex(F32, (long) c * taps + t);
            }
        }
        return tapWeights;
    }

    /** A depthwise bias (null: none) in whole vectors, zero past the last channel. */
    static float[] channelBlockedBiases(Geometry g, MemorySegment bias) {
        float[] biases = new float[(g.c + L - 1) / L * L];
        for (int c = 0; c < g.c && bias != null; c++) {
            biases[c] = bias.getAtIndex(F32, c);
        }
        return biases;
    }

    /** The sums of one channel block, one output pixel at a time, every tap in turn. */
    private static void channelBlockPixels(Geometry g, float[] block, float[] tapWeights,
            int w0, float[] biases, int c0, int paddedW, int[] tapOffset, float[] sums) {
        Conv2dSpec s = g.spec;
        FloatVector bias = FloatVector.fromArray(S, biases, c0);
        for (int oy = 0; oy < g.outH; oy++) {
            for (int ox = 0; ox < g.outW; ox++) {
                int at = (oy * s.strideH() * paddedW + ox * s.strideW()) * L;
                FloatVector acc = bias;
                for (int t = 0; t < tapOffset.length; t++) {
                    acc = FloatVector.fromArray(S, block, at + tapOffset[t])
                            .fma(FloatVector.fromArray(S, tapWeights, w0 + t * L), acc);
                }
                acc.intoArray(sums, (oy * g.outW + ox) * L);
            }
        }
    }

    /**
     * The sums of one channel block (stride 1) a row segment of {@link #ROW_PIXELS} output
     * pixels at a time, the segment in registers: each tap's weights are loaded once per
     * segment rather than once per pixel, and kernel rows that fall wholly in the padding are
     * skipped. Every output gets the same operations in the same order as the per-pixel loop
     * (a skipped tap would only have added zero). A row's last segment also sums pixels past
     * its end, into slack that the next row, or nothing, overwrites; it reads them from the
     * next padded row or, after the last, from the block's slack.
     */
    static void channelBlockRows(Geometry g, float[] block, float[] tapWeights,
            int w0, float[] biases, int c0, int paddedW, float[] sums) {
        if (g.outW <= ROW_PIXELS / 2) {
            // rows of 4×4 planes: a segment of 8 would sum as many pixels again past the row
            for (int oy = 0; oy < g.outH; oy++) {
                shortRow(g, block, tapWeights, w0, biases, c0, paddedW, sums, oy);
            }
            return;
        }
        boolean sliding = SLIDING_SEGMENTS && g.spec.dilationW() == 1;
        for (int oy = 0; oy < g.outH; oy++) {
            for (int ox0 = 0; ox0 < g.outW; ox0 += ROW_PIXELS) {
                if (sliding) {
                    slidingSegment(g, block, tapWeights, w0, biases, c0, paddedW, sums, oy, ox0);
                } else {
                    rowSegment(g, block, tapWeights, w0, biases, c0, paddedW, sums, oy, ox0);
                }
            }
        }
    }

    /**
     * {@link #channelBlockRows} for a stride of 2 both ways (dilation 1): four output pixels
     * at a time, each reading every second pixel of the padded rows. Pixels past a row's end
     * are summed into {@code sums}' slack or overwritten by the next row's, as there.
     */
    static void channelBlockRowsByTwo(Geometry g, float[] block, float[] tapWeights, int w0,
            float[] biases, int c0, int paddedW, float[] sums) {
        FloatVector bias = FloatVector.fromArray(S, biases, c0);
        for (int oy = 0; oy < g.outH; oy++) {
            for (int ox0 = 0; ox0 < g.outW; ox0 += ROW_PIXELS / 2) {
                FloatVector a0 = bias, a1 = bias, a2 = bias, a3 = bias;
                for (int ky = 0; ky < g.kh; ky++) {
                    int iy = 2 * oy + ky - g.spec.padTop();
                    if (iy < 0 || iy >= g.h) {
                        // the same LIMITATION as rowSegment's: rows wholly in the padding
                        continue;
                    }
                    int row = ((2 * oy + ky) * paddedW + 2 * ox0) * L;
                    for (int kx = 0; kx < g.kw; kx++) {
                        int at = row + kx * L;
                        FloatVector w = FloatVector.fromArray(S, tapWeights,
                                w0 + (ky * g.kw + kx) * L);
                        a0 = FloatVector.fromArray(S, block, at).fma(w, a0);
                        a1 = FloatVector.fromArray(S, block, at + 2 * L).fma(w, a1);
                        a2 = FloatVector.fromArray(S, block, at + 4 * L).fma(w, a2);
                        a3 = FloatVector.fromArray(S, block, at + 6 * L).fma(w, a3);
                    }
                }
                int out = (oy * g.outW + ox0) * L;
                a0.intoArray(sums, out);
                a1.intoArray(sums, out + L);
                a2.intoArray(sums, out + 2 * L);
                a3.intoArray(sums, out + 3 * L);
            }
        }
    }

    /**
     * {@link #rowSegment} for a row of at most {@code ROW_PIXELS / 2} output pixels: half the
     * segment, the same operations per output. Pixels past the row's end are summed into
     * slack as there.
     */
    private static void shortRow(Geometry g, float[] block, float[] tapWeights, int w0,
            float[] biases, int c0, int paddedW, float[] sums, int oy) {
        Conv2dSpec s = g.spec;
        FloatVector bias = FloatVector.fromArray(S, biases, c0);
        FloatVector a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        for (int ky = 0; ky < g.kh; ky++) {
            int iy = oy + ky * s.dilationH() - s.padTop();
            if (iy < 0 || iy >= g.h) {
                continue;
            }
            int row = (oy + ky * s.dilationH()) * paddedW * L;
            for (int kx = 0; kx < g.kw; kx++) {
                int at = row + kx * s.dilationW() * L;
                FloatVector w = FloatVector.fromArray(S, tapWeights, w0 + (ky * g.kw + kx) * L);
                a0 = FloatVector.fromArray(S, block, at).fma(w, a0);
                a1 = FloatVector.fromArray(S, block, at + L).fma(w, a1);
                a2 = FloatVector.fromArray(S, block, at + 2 * L).fma(w, a2);
                a3 = FloatVector.fromArray(S, block, at + 3 * L).fma(w, a3);
            }
        }
        int out = oy * g.outW * L;
        a0.intoArray(sums, out);
        a1.intoArray(sums, out + L);
        a2.intoArray(sums, out + 2 * L);
        a3.intoArray(sums, out + 3 * L);
    }

    /** Output pixels [ox0, ox0 + ROW_PIXELS) of row oy, for {@link #channelBlockRows}. */
    static void rowSegment(Geometry g, float[] block, float[] tapWeights, int w0,
            float[] biases, int c0, int paddedW, float[] sums, int oy, int ox0) {
        Conv2dSpec s = g.spec;
        FloatVector bias = FloatVector.fromArray(S, biases, c0);
        FloatVector a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        FloatVector a4 = bias, a5 = bias, a6 = bias, a7 = bias;
        for (int ky = 0; ky < g.kh; ky++) {
            int iy = oy + ky * s.dilationH() - s.padTop();
            if (iy < 0 || iy >= g.h) {
                // LIMITATION: a NaN or infinite weight on a skipped row adds nothing here,
                // where the other depthwise kernels multiply it by the padding's zero and
                // give NaN; finite weights give the same bits either way
                continue;
            }
            int row = ((oy + ky * s.dilationH()) * paddedW + ox0) * L;
            for (int kx = 0; kx < g.kw; kx++) {
                int at = row + kx * s.dilationW() * L;
                FloatVector w = FloatVector.fromArray(S, tapWeights, w0 + (ky * g.kw + kx) * L);
                a0 = FloatVector.fromArray(S, block, at).fma(w, a0);
                a1 = FloatVector.fromArray(S, block, at + L).fma(w, a1);
                a2 = FloatVector.fromArray(S, block, at + 2 * L).fma(w, a2);
                a3 = FloatVector.fromArray(S, block, at + 3 * L).fma(w, a3);
                a4 = FloatVector.fromArray(S, block, at + 4 * L).fma(w, a4);
                a5 = FloatVector.fromArray(S, block, at + 5 * L).fma(w, a5);
                a6 = FloatVector.fromArray(S, block, at + 6 * L).fma(w, a6);
                a7 = FloatVector.fromArray(S, block, at + 7 * L).fma(w, a7);
            }
        }
        int out = (oy * g.outW + ox0) * L;
        a0.intoArray(sums, out);
        a1.intoArray(sums, out + L);
        a2.intoArray(sums, out + 2 * L);
        a3.intoArray(sums, out + 3 * L);
        a4.intoArray(sums, out + 4 * L);
        a5.intoArray(sums, out + 5 * L);
        a6.intoArray(sums, out + 6 * L);
        a7.intoArray(sums, out + 7 * L);
    }

    /**
     * {@link #rowSegment} for a dilation of 1 across: the same operations in the same order
     * (bias, then the taps row by row, left to right), so the same bits, with a third of the
     * loads. Tap by tap, each of a kernel row's kw taps loads the segment's eight input pixels
     * again; here the row's first seven are loaded once and, as the taps move right, slide
     * down the eight input registers while one new pixel is loaded. The tap-by-tap kernel's
     * loads, most of them across a cache line (the block is a heap array, whose data start
     * wherever the collector put it), were its limit.
     */
    static void slidingSegment(Geometry g, float[] block, float[] tapWeights, int w0,
            float[] biases, int c0, int paddedW, float[] sums, int oy, int ox0) {
        Conv2dSpec s = g.spec;
        FloatVector bias = FloatVector.fromArray(S, biases, c0);
        FloatVector a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        FloatVector a4 = bias, a5 = bias, a6 = bias, a7 = bias;
        for (int ky = 0; ky < g.kh; ky++) {
            int iy = oy + ky * s.dilationH() - s.padTop();
            if (iy < 0 || iy >= g.h) {
                // the same LIMITATION as rowSegment's: rows wholly in the padding
                continue;
            }
            int row = ((oy + ky * s.dilationH()) * paddedW + ox0) * L;
            int taps = w0 + ky * g.kw * L;
            // x0 .. x7: the input pixels of outputs ox0 .. ox0 + 7 at the current tap
            FloatVector x0 = FloatVector.fromArray(S, block, row);
            FloatVector x1 = FloatVector.fromArray(S, block, row + L);
            FloatVector x2 = FloatVector.fromArray(S, block, row + 2 * L);
            FloatVector x3 = FloatVector.fromArray(S, block, row + 3 * L);
            FloatVector x4 = FloatVector.fromArray(S, block, row + 4 * L);
            FloatVector x5 = FloatVector.fromArray(S, block, row + 5 * L);
            FloatVector x6 = FloatVector.fromArray(S, block, row + 6 * L);
            for (int kx = 0; kx < g.kw; kx++) {
                FloatVector x7 = FloatVector.fromArray(S, block, row + (kx + 7) * L);
                FloatVector w = FloatVector.fromArray(S, tapWeights, taps + kx * L);
                a0 = x0.fma(w, a0);
                a1 = x1.fma(w, a1);
                a2 = x2.fma(w, a2);
                a3 = x3.fma(w, a3);
                a4 = x4.fma(w, a4);
                a5 = x5.fma(w, a5);
                a6 = x6.fma(w, a6);
                a7 = x7.fma(w, a7);
                x0 = x1;
                x1 = x2;
                x2 = x3;
                x3 = x4;
                x4 = x5;
                x5 = x6;
                x6 = x7;
            }
        }
        int out = (oy * g.outW + ox0) * L;
        a0.intoArray(sums, out);
        a1.intoArray(sums, out + L);
        a2.intoArray(sums, out + 2 * L);
        a3.intoArray(sums, out + 3 * L);
        a4.intoArray(sums, out + 4 * L);
        a5.intoArray(sums, out + 5 * L);
        a6.intoArray(sums, out + 6 * L);
        a7.intoArray(sums, out + 7 * L);
    }

    /**
     * Where tap (ky, kx) starts in the source, relative to an output's top-left: in the padded
     * plane ({@code phaseSize} 0, rows of {@code rowW}) or, for a horizontal stride, in its
     * column phases, where tap (ky, kx) of output column ox reads phase
     * {@code (kx·dw) mod sw} at column {@code ox + (kx·dw) div sw}.
     */
    private static int[] tapOffsets(Geometry g, int rowW, int phaseSize) {
        Conv2dSpec s = g.spec;
        int[] tapOffset = new int[g.kh * g.kw];
        for (int ky = 0, tap = 0; ky < g.kh; ky++) {
            for (int kx = 0; kx < g.kw; kx++, tap++) {
                int column = kx * s.dilationW();
                tapOffset[tap] = (column % s.strideW()) * phaseSize
                        + ky * s.dilationH() * rowW + column / s.strideW();
            }
        }
        return tapOffset;
    }

    /** The plane at {@code offset} (in floats), copied into a zero border of the padding. */
    private float[] paddedPlane(Geometry g, MemorySegment x, long offset, int paddedH,
            int paddedW) {
        Conv2dSpec s = g.spec;
        float[] padded = buffer(planes, paddedH * paddedW + 2 * L);
        // only the border is zeroed: the copy overwrites the rest
        int firstRow = s.padTop() * paddedW;
        java.util.Arrays.fill(padded, 0, firstRow + s.padLeft(), 0f);
        for (int iy = 0; iy < g.h; iy++) {
            int at = (iy + s.padTop()) * paddedW + s.padLeft();
            MemorySegment.copy(x, F32, (offset + (long) iy * g.w) * Float.BYTES, padded, at,
                    g.w);
            // this row's right border and the next row's left one
            java.util.Arrays.fill(padded, at + g.w, at + g.w + s.padRight() + s.padLeft(), 0f);
        }
        int afterRows = (g.h + s.padTop()) * paddedW;
        java.util.Arrays.fill(padded, afterRows, paddedH * paddedW + 2 * L, 0f);
        return padded;
    }

    /**
     * The padded plane split by column phase for a horizontal stride: phase {@code ph} holds
     * columns {@code ph, ph + stride, …} of every row, {@code phaseW} to a row, so the taps
     * of consecutive outputs are again consecutive floats.
     */
    private float[] phases(float[] padded, int paddedH, int paddedW, int stride, int phaseW) {
        int size = stride * paddedH * phaseW;
        float[] phased = buffer(strided, size + 2 * L);
        java.util.Arrays.fill(phased, size, size + 2 * L, 0f);
        if (stride == 2) {
            halves(padded, paddedH, paddedW, phaseW, phased);
            return phased;
        }
        // LIMITATION: horizontal strides above 2 split the columns one float at a time;
        // correct, but the copy then costs more than the sums on small kernels.
        for (int ph = 0; ph < stride; ph++) {
            for (int iy = 0; iy < paddedH; iy++) {
                int dst = (ph * paddedH + iy) * phaseW;
                int src = iy * paddedW + ph;
                for (int j = 0; j < phaseW; j++, src += stride) {
                    phased[dst + j] = src < (iy + 1) * paddedW ? padded[src] : 0f;
                }
            }
        }
        return phased;
    }

    /**
     * {@link #phases} for stride 2, a vector at a time: two vectors of a padded row give one of
     * its even columns and one of its odd ones. Phase columns past the row's end take the next
     * row's values rather than zero; only outputs past the row's end read them.
     */
    static void halves(float[] padded, int paddedH, int paddedW, int phaseW,
            float[] phased) {
        int oddPhase = paddedH * phaseW;
        for (int iy = 0; iy < paddedH; iy++) {
            int src = iy * paddedW;
            int dst = iy * phaseW;
            for (int j = 0; j < phaseW; j += L) {
                // the padded plane has 2·L spare floats, so both loads stay inside it
                FloatVector first = FloatVector.fromArray(S, padded, src + 2 * j);
                FloatVector second = FloatVector.fromArray(S, padded, src + 2 * j + L);
                FloatVector even = first.rearrange(EVEN_LANES, second);
                FloatVector odd = first.rearrange(ODD_LANES, second);
                if (j + L <= phaseW) {
                    even.intoArray(phased, dst + j);
                    odd.intoArray(phased, oddPhase + dst + j);
                } else {
                    // a whole store would spill onto the other phase's first row
                    VectorMask<Float> lanes = S.indexInRange(j, phaseW);
                    even.intoArray(phased, dst + j, lanes);
                    odd.intoArray(phased, oddPhase + dst + j, lanes);
                }
            }
        }
    }

    /** The thread's buffer in {@code slot}, grown to at least {@code size} floats. */
    static float[] buffer(ThreadLocal<float[]> slot, int size) {
        float[] buffer = slot.get();
        if (buffer.length < size) {
            buffer = new float[size];
            slot.set(buffer);
        }
        return buffer;
    }

    /**
     * Every output row of one depthwise plane, bias included, into {@code sums} (row after row,
     * {@code outW} to a row): each output vector sums all taps in a register. Stores are whole
     * vectors; lanes past a row's end land on the next row, which overwrites them, or on the
     * 2·L spare floats after the plane.
     */
    private static void depthwiseRows(Geometry g, float[] source, int rowW, int[] tapOffset,
            float[] w, float bias, MemorySegment sums) {
        int strideH = g.spec.strideH();
        int oy = 0;
        // four output rows at a time where there are four: each sum is a chain of dependent
        // multiply-adds, and one or two chains leave the multiply-add units waiting on their
        // latency most of the time
        for (; oy + 4 <= g.outH && g.outW <= L; oy += 4) {
            fourRowsOfOneVector(g, source, rowW, tapOffset, w, bias, oy, sums);
        }
        if (sevenBySevenRows(g) && L == 8) {
            for (; oy + 3 <= g.outH; oy += 3) {
                // right to left: a row's last pass stores past the row's end, on the next
                // row's first pixels, which the pass from pixel 0 then overwrites
                for (int ox = (g.outW - 1) / (2 * L) * (2 * L); ox >= 0; ox -= 2 * L) {
                    threeRowsOfSevenBySeven(g, source, rowW, w, bias, oy, ox, sums);
                }
            }
        } else if (sevenBySevenRows(g)) {
            for (; oy + 4 <= g.outH; oy += 4) {
                for (int ox = 0; ox < g.outW; ox += L) {
                    fourRowsOfSevenBySeven(g, source, rowW, w, bias, oy, ox, sums);
                }
            }
        }
        for (; oy + 2 <= g.outH && g.outW > L; oy += 2) {
            for (int ox = 0; ox < g.outW; ox += 2 * L) {
                twoRowsOfTwoVectors(g, source, rowW, tapOffset, w, bias, oy, ox, sums);
            }
        }
        for (; oy < g.outH; oy++) {
            int top = oy * strideH * rowW;
            long row = (long) oy * g.outW * Float.BYTES;
            if (g.outW <= L) {
                // a row fits one vector (up to half a vector, the channel-blocked kernel)
                FloatVector acc = FloatVector.broadcast(S, bias);
                for (int tap = 0; tap < tapOffset.length; tap++) {
                    acc = FloatVector.fromArray(S, source, top + tapOffset[tap])
                            .fma(FloatVector.broadcast(S, w[tap]), acc);
                }
                acc.intoMemorySegment(sums, row, LE);
                continue;
            }
            for (int ox = 0; ox < g.outW; ox += 2 * L) {
                // two vectors of outputs per pass share each tap's weight, and their sums
                // are independent chains of multiply-adds; the source has 2·L spare floats,
                // so whole-vector loads stay inside it
                FloatVector acc = FloatVector.broadcast(S, bias);
                FloatVector next = acc;
                int base = top + ox;
                for (int tap = 0; tap < tapOffset.length; tap++) {
                    FloatVector weight = FloatVector.broadcast(S, w[tap]);
                    int at = base + tapOffset[tap];
                    acc = FloatVector.fromArray(S, source, at).fma(weight, acc);
                    next = FloatVector.fromArray(S, source, at + L).fma(weight, next);
                }
                long o = row + (long) ox * Float.BYTES;
                acc.intoMemorySegment(sums, o, LE);
                next.intoMemorySegment(sums, o + (long) L * Float.BYTES, LE);
            }
        }
    }

    /**
     * Whether {@link #fourRowsOfSevenBySeven} takes this plane's rows: a 7×7 kernel of stride
     * and dilation 1 (ConvNeXt's) over rows wider than a vector.
     */
    private static boolean sevenBySevenRows(Geometry g) {
        Conv2dSpec s = g.spec;
        return g.kh == 7 && g.kw == 7 && s.strideH() == 1 && s.strideW() == 1
                && s.dilationH() == 1 && s.dilationW() == 1 && g.outW > L;
    }

    /**
     * Rows oy .. oy + 3, pixels ox .. ox + L, of a 7×7 kernel of stride 1 over rows wider than
     * a vector. Output row oy + r reads input rows oy + r .. oy + r + 6, so the four output
     * rows share seven of their ten input rows: for each kernel column the ten rows are loaded
     * once and each feeds every output row it is a tap of, a third of the loads of the
     * tap-by-tap kernel, whose loads (most of them across a cache line) were its limit. Each
     * output's sum is its bias, then the taps column by column (kx outer, ky inner): the same
     * terms as the other depthwise kernels, added in another order. The store is masked at the
     * row's end, as in {@link #twoRowsOfTwoVectors}; loads past a row's end stay within the
     * plane's 2·L spare floats.
     */
    // One vector of pixels, not two as the tap-by-tap kernel: with two, the compiler stops
    // inlining the vector operations partway through the method (too much inlined code) and
    // the rest run as calls, thirty times slower
    // LIMITATION: a plane's last outH mod 4 rows (outH mod 3 with 8 lanes, where
    // threeRowsOfSevenBySeven takes the rest) take the tap-by-tap kernel, so their sums are
    // added in the other order (each output's bits are still the same on any thread count)
    private static void fourRowsOfSevenBySeven(Geometry g, float[] source, int rowW,
            float[] w, float bias, int oy, int ox, MemorySegment sums) {
        FloatVector a0 = FloatVector.broadcast(S, bias);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int top = oy * rowW + ox;
        for (int kx = 0; kx < 7; kx++) {
            // the kernel column's weights, ky = 0 .. 6
            FloatVector w0 = FloatVector.broadcast(S, w[kx]);
            FloatVector w1 = FloatVector.broadcast(S, w[7 + kx]);
            FloatVector w2 = FloatVector.broadcast(S, w[14 + kx]);
            FloatVector w3 = FloatVector.broadcast(S, w[21 + kx]);
            FloatVector w4 = FloatVector.broadcast(S, w[28 + kx]);
            FloatVector w5 = FloatVector.broadcast(S, w[35 + kx]);
            FloatVector w6 = FloatVector.broadcast(S, w[42 + kx]);
            // input row oy + j, j = 0 .. 9: tap ky = j − r of output row oy + r
            int at = top + kx;
            FloatVector x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w0, a0);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w1, a0);
            a1 = x.fma(w0, a1);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w2, a0);
            a1 = x.fma(w1, a1);
            a2 = x.fma(w0, a2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w3, a0);
            a1 = x.fma(w2, a1);
            a2 = x.fma(w1, a2);
            a3 = x.fma(w0, a3);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w4, a0);
            a1 = x.fma(w3, a1);
            a2 = x.fma(w2, a2);
            a3 = x.fma(w1, a3);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w5, a0);
            a1 = x.fma(w4, a1);
            a2 = x.fma(w3, a2);
            a3 = x.fma(w2, a3);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a0 = x.fma(w6, a0);
            a1 = x.fma(w5, a1);
            a2 = x.fma(w4, a2);
            a3 = x.fma(w3, a3);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a1 = x.fma(w6, a1);
            a2 = x.fma(w5, a2);
            a3 = x.fma(w4, a3);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a2 = x.fma(w6, a2);
            a3 = x.fma(w5, a3);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            a3 = x.fma(w6, a3);
        }
        VectorMask<Float> lanes = S.indexInRange(ox, g.outW);
        long rowBytes = (long) g.outW * Float.BYTES;
        long o = oy * rowBytes + (long) ox * Float.BYTES;
        a0.intoMemorySegment(sums, o, LE, lanes);
        a1.intoMemorySegment(sums, o + rowBytes, LE, lanes);
        a2.intoMemorySegment(sums, o + 2 * rowBytes, LE, lanes);
        a3.intoMemorySegment(sums, o + 3 * rowBytes, LE, lanes);
    }

    /**
     * Rows oy .. oy + 2, pixels ox .. ox + 2·L, of a 7×7 kernel of stride 1: the sums of
     * {@link #fourRowsOfSevenBySeven}, in the same order, for three rows of two vectors. With
     * 8 lanes the four rows of one vector were four chains of dependent multiply-adds, which
     * left the multiply-add units waiting on their latency half the time; six chains keep them
     * busier, and each weight's broadcast and each row's loads serve twice the pixels. Alone,
     * one Zen 3 core, a 48 × 48 plane: 37–40 GFLOP/s four rows at a time, 48–52 this way.
     * Six sums, seven weights and two pixel vectors are 15 of AVX2's 16 registers: C2 keeps
     * them all there (with eight sums, four rows split by kernel column, it spilled and ran at
     * half the speed). Loads and stores past a row's end reach at most 2·L − 1 floats past
     * the plane, within its spare floats (and within the source's); what a pass stores past
     * a row's end, on the next row's first pixels, the caller has that row's first pass
     * overwrite.
     */
    // Only with 8 lanes, where it was measured. The wider vectors of AVX-512 have 32
    // registers and a kernel of their own tuning (fourRowsOfSevenBySeven).
    private static void threeRowsOfSevenBySeven(Geometry g, float[] source, int rowW,
            float[] w, float bias, int oy, int ox, MemorySegment sums) {
        FloatVector a0 = FloatVector.broadcast(S, bias);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        FloatVector a2 = a0;
        FloatVector b2 = a0;
        int top = oy * rowW + ox;
        for (int kx = 0; kx < 7; kx++) {
            // the kernel column's weights, ky = 0 .. 6
            FloatVector w0 = FloatVector.broadcast(S, w[kx]);
            FloatVector w1 = FloatVector.broadcast(S, w[7 + kx]);
            FloatVector w2 = FloatVector.broadcast(S, w[14 + kx]);
            FloatVector w3 = FloatVector.broadcast(S, w[21 + kx]);
            FloatVector w4 = FloatVector.broadcast(S, w[28 + kx]);
            FloatVector w5 = FloatVector.broadcast(S, w[35 + kx]);
            FloatVector w6 = FloatVector.broadcast(S, w[42 + kx]);
            // input row oy + j, j = 0 .. 8, vectors x and y: tap ky = j − r of output row
            // oy + r
            int at = top + kx;
            FloatVector x = FloatVector.fromArray(S, source, at);
            FloatVector y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w0, a0);
            b0 = y.fma(w0, b0);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w1, a0);
            b0 = y.fma(w1, b0);
            a1 = x.fma(w0, a1);
            b1 = y.fma(w0, b1);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w2, a0);
            b0 = y.fma(w2, b0);
            a1 = x.fma(w1, a1);
            b1 = y.fma(w1, b1);
            a2 = x.fma(w0, a2);
            b2 = y.fma(w0, b2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w3, a0);
            b0 = y.fma(w3, b0);
            a1 = x.fma(w2, a1);
            b1 = y.fma(w2, b1);
            a2 = x.fma(w1, a2);
            b2 = y.fma(w1, b2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w4, a0);
            b0 = y.fma(w4, b0);
            a1 = x.fma(w3, a1);
            b1 = y.fma(w3, b1);
            a2 = x.fma(w2, a2);
            b2 = y.fma(w2, b2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w5, a0);
            b0 = y.fma(w5, b0);
            a1 = x.fma(w4, a1);
            b1 = y.fma(w4, b1);
            a2 = x.fma(w3, a2);
            b2 = y.fma(w3, b2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a0 = x.fma(w6, a0);
            b0 = y.fma(w6, b0);
            a1 = x.fma(w5, a1);
            b1 = y.fma(w5, b1);
            a2 = x.fma(w4, a2);
            b2 = y.fma(w4, b2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a1 = x.fma(w6, a1);
            b1 = y.fma(w6, b1);
            a2 = x.fma(w5, a2);
            b2 = y.fma(w5, b2);
            at += rowW;
            x = FloatVector.fromArray(S, source, at);
            y = FloatVector.fromArray(S, source, at + L);
            a2 = x.fma(w6, a2);
            b2 = y.fma(w6, b2);
        }
        // whole vectors, unmasked (a masked store is microcoded on AMD's cores, and with
        // masks at the row's end in this method C1 ran out of registers compiling it and left
        // it without vector intrinsics, sixty times slower, where C2 never replaced it)
        long rowBytes = (long) g.outW * Float.BYTES;
        long o = oy * rowBytes + (long) ox * Float.BYTES;
        long half = (long) L * Float.BYTES;
        a0.intoMemorySegment(sums, o, LE);
        b0.intoMemorySegment(sums, o + half, LE);
        a1.intoMemorySegment(sums, o + rowBytes, LE);
        b1.intoMemorySegment(sums, o + rowBytes + half, LE);
        a2.intoMemorySegment(sums, o + 2 * rowBytes, LE);
        b2.intoMemorySegment(sums, o + 2 * rowBytes + half, LE);
    }

    /** Rows oy .. oy + 3 of a plane whose rows fit one vector; the same sums as one by one. */
    private static void fourRowsOfOneVector(Geometry g, float[] source, int rowW,
            int[] tapOffset, float[] w, float bias, int oy, MemorySegment sums) {
        int step = g.spec.strideH() * rowW;
        int top = oy * step;
        FloatVector a0 = FloatVector.broadcast(S, bias);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int tap = 0; tap < tapOffset.length; tap++) {
            FloatVector weight = FloatVector.broadcast(S, w[tap]);
            int at = top + tapOffset[tap];
            a0 = FloatVector.fromArray(S, source, at).fma(weight, a0);
            a1 = FloatVector.fromArray(S, source, at + step).fma(weight, a1);
            a2 = FloatVector.fromArray(S, source, at + 2 * step).fma(weight, a2);
            a3 = FloatVector.fromArray(S, source, at + 3 * step).fma(weight, a3);
        }
        long rowBytes = (long) g.outW * Float.BYTES;
        long o = oy * rowBytes;
        a0.intoMemorySegment(sums, o, LE);
        a1.intoMemorySegment(sums, o + rowBytes, LE);
        a2.intoMemorySegment(sums, o + 2 * rowBytes, LE);
        a3.intoMemorySegment(sums, o + 3 * rowBytes, LE);
    }

    /**
     * Rows oy and oy + 1, pixels ox .. ox + 2·L, of a plane whose rows are wider than a
     * vector; the same sums as one row at a time.
     */
    private static void twoRowsOfTwoVectors(Geometry g, float[] source, int rowW,
            int[] tapOffset, float[] w, float bias, int oy, int ox, MemorySegment sums) {
        int step = g.spec.strideH() * rowW;
        int base = oy * step + ox;
        FloatVector a0 = FloatVector.broadcast(S, bias);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        for (int tap = 0; tap < tapOffset.length; tap++) {
            FloatVector weight = FloatVector.broadcast(S, w[tap]);
            int at = base + tapOffset[tap];
            a0 = FloatVector.fromArray(S, source, at).fma(weight, a0);
            b0 = FloatVector.fromArray(S, source, at + L).fma(weight, b0);
            a1 = FloatVector.fromArray(S, source, at + step).fma(weight, a1);
            b1 = FloatVector.fromArray(S, source, at + step + L).fma(weight, b1);
        }
        // masked at the row's end: the first row's spare lanes would land on the second
        // row's first pixels, which an earlier pass has already written
        VectorMask<Float> first = S.indexInRange(ox, g.outW);
        VectorMask<Float> second = S.indexInRange(ox + L, g.outW);
        long rowBytes = (long) g.outW * Float.BYTES;
        long o = oy * rowBytes + (long) ox * Float.BYTES;
        long half = (long) L * Float.BYTES;
        a0.intoMemorySegment(sums, o, LE, first);
        b0.intoMemorySegment(sums, o + half, LE, second);
        a1.intoMemorySegment(sums, o + rowBytes, LE, first);
        b1.intoMemorySegment(sums, o + rowBytes + half, LE, second);
    }
}
