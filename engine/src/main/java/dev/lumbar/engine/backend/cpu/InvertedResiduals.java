package dev.lumbar.engine.backend.cpu;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * An inverted-residual block (MBConv: 1×1 expansion, depthwise convolution of stride 1 or 2,
 * squeeze-excite gate, 1×1 projection) with its expanded activations kept channel-blocked
 * between its layers, {@code [C / L][pixels of the whole batch][L]}: L channels of one
 * pixel in one vector (L = 16 with AVX-512, 8 with AVX2), the batch's pixels one after
 * another.
 *
 * <p>Why: in NCHW each 1×1 product packs its input into strips and the depthwise
 * convolution moves every plane into and out of channel-blocked order by transposes. Here
 * the products put 2L outputs across two vectors and broadcast 6 pixels of the input from a
 * heap array (a register tile of 12 sums), so the expansion writes the blocked layout the
 * depthwise convolution reads and no strip is packed. Only the block's input and output are
 * NCHW: the input is copied once onto the heap (by transposes, with 16 lanes), and the
 * projection's sums are transposed back as each image is finished.
 *
 * <p>The products' input: with 16 lanes, blocked as above, each read's bounds check hoisted
 * per block of channels. With 8 lanes (AVX2) in runs, {@code [tiles][C][6]}: each channel's
 * 6 pixels of a tile next to one another, read in one pass over the channels (see
 * {@link #runTile}).
 *
 * <p>Three loops over the workers: the input's copy, the expansion with the depthwise
 * convolution and its means (a fourth loop where the expansion's tasks do not cover whole
 * output strips, with many threads), and the projection; the gate is computed between the
 * last two, on the calling thread.
 *
 * <p>The sums are the engine's usual ones: each product output is one chain of multiply-adds
 * over the input channels in order, then its bias (and the residual); each depthwise output
 * its bias, then the taps in order. Only the squeeze-excite means differ from
 * {@link Reductions#planeMeans}: summed in another order, then multiplied by 1 / (H·W).

 */
final class InvertedResiduals {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Channels per block: one vector of floats, which the layout and transposes need. */
    private static final int LANES = Transposes.LANES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    /** Pixels of one register tile, each broadcast once per input channel. */
    private static final int TILE_PIXELS = 6;
    /**
     * Whether the products read their input in runs ({@link #runTile}): with 8 lanes. With
     * 16 the blocked tile keeps its layout.
     */
    private static final boolean RUNS = LANES == 8;
    /** Outputs of one register tile: two vectors. */
    private static final int TILE_OUTPUTS = 2 * LANES;
    /**
     * At most this many floats in the block's input, expanded activations or output: the
     * input's copy lives on the heap (kept by the calling thread for the next block) and
     * offsets are ints. The backbones' blocks stay far below (25 images × 1536 channels ×
     * 16 pixels is 0.6 M); a larger one takes the NCHW path.
     */
    private static final long MAX_FLOATS = 1L << 24;
    /**
     * At most this many pixels a plane (64 × 64): every worker keeps buffers of L planes
     * for the transposes and the depthwise convolution. The backbones' blocks that fit are
     * 4 × 4 to 14 × 14 (28 × 28 at 448 × 448 input); larger planes take the NCHW path, whose
     * depthwise convolution goes row by row.
     */
    private static final int MAX_PLANE = 64 * 64;
    /**
     * Product tasks per worker, so that a few slow ones do not hold up the rest. Each is
     * handed out on its own: grouped into a few chunks a thread, a loop ended with one thread
     * idle for up to a chunk, and a parked worker wakes some 25 µs after the loop starts.
     */
    private static final int TASKS_PER_WORKER = 4;
    /**
     * Chunks of (image, channel block) planes a worker for the depthwise convolution: a chunk
     * costs one fill of the padded block, small beside the planes it convolves.
     */
    private static final int DEPTHWISE_TASKS_PER_WORKER = 16;
    /**
     * Tasks of the transposes and the depthwise convolution are whole (image, channel block)
     * pairs, chunks of at least this many floats.
     */
    private static final long CHUNK_FLOATS = 4096;

    private final WorkerPool workers;
    private final PixelProducts pixelProducts;
    // LIMITATION: each calling thread keeps the largest block input it has run (input
    // channels × the batch's pixels), like the other per-thread buffers of the kernels
    /** The block's input, blocked, on the calling thread's heap. */
    private final ThreadLocal<float[]> inputRows = ThreadLocal.withInitial(() -> new float[0]);
    /** One tile's pixels of every channel of the projection's input, gated. */
    private final ThreadLocal<float[]> tileRows = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> paddedBlocks = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> blockSums = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> planes = ThreadLocal.withInitial(() -> new float[0]);

    InvertedResiduals(WorkerPool workers, PixelProducts pixelProducts) {
        this.workers = workers;
        this.pixelProducts = pixelProducts;
    }

    /**
     * Whether a block of these three convolutions runs here: vectors of 16 or 8 floats
     * (L); 1×1 expansion and projection, each to a multiple of 2L channels, from a multiple
     * of L; a depthwise convolution of dilation 1, either of stride 1 keeping the image's
     * size or of stride 2 both ways with padding narrower than the kernel; input and output
     * planes of at most {@link #MAX_PLANE} pixels; and input, expanded activations and output
     * within {@link #MAX_FLOATS}.
     */
    static boolean fits(Convolutions.Geometry expand, Convolutions.Geometry depthwise,
            Convolutions.Geometry project) {
        // LIMITATION: with vectors of 4 floats (SSE, or NEON) every block runs NCHW; the
        // blocked layout and its transposes are written for 16 or 8 lanes
        Conv2dSpec s = depthwise.spec();
        long padded = tiledPixels(expand);
        return Transposes.available() && expand.pointwise() && project.pointwise()
                && !expand.depthwise() && !project.depthwise()
                && depthwise.depthwise() && s.dilationH() == 1 && s.dilationW() == 1
                && (s.strideH() == 1 && s.strideW() == 1 && depthwise.outH() == depthwise.h()
                        && depthwise.outW() == depthwise.w()
                        || s.strideH() == 2 && s.strideW() == 2 && paddingWithinKernel(depthwise)
                        && (long) depthwise.outH() * depthwise.outW() <= MAX_PLANE)
                && expand.c() % LANES == 0 && expand.o() % TILE_OUTPUTS == 0
                && project.o() % TILE_OUTPUTS == 0
                && (long) expand.h() * expand.w() <= MAX_PLANE
                && Math.max(expand.c(), Math.max(expand.o(), project.o())) * padded
                        <= MAX_FLOATS
                // a strided block's output plane may hold more pixels than its input's
                && Math.max(expand.o(), project.o()) * tiledPixels(project) <= MAX_FLOATS;
    }

    /** The batch's pixels rounded up to whole tiles: the blocked layout's pixels per block. */
    static int paddedPixels(Convolutions.Geometry g) {
        return Math.toIntExact(tiledPixels(g));
    }

    /**
     * Padding on every side narrower than the kernel, as a strided block's has: wider, the
     * output could hold more pixels than the input (planes of thousands of pixels of little
     * but bias from a 1×1 input), past what the per-worker buffers and the means' running sums
     * are sized for.
     */
    private static boolean paddingWithinKernel(Convolutions.Geometry g) {
        Conv2dSpec s = g.spec();
        return s.padTop() < g.kh() && s.padBottom() < g.kh() && s.padLeft() < g.kw()
                && s.padRight() < g.kw();
    }

    /** {@link #paddedPixels} of a depthwise convolution's output, which may be strided. */
    static int outputPixels(Convolutions.Geometry g) {
        return Math.toIntExact(wholeTiles((long) g.n() * g.outH() * g.outW()));
    }

    /** {@link #paddedPixels} as a long, for {@link #fits} to check before it is an int. */
    private static long tiledPixels(Convolutions.Geometry g) {
        return wholeTiles((long) g.n() * g.h() * g.w());
    }

    private static long wholeTiles(long pixels) {
        return (pixels + TILE_PIXELS - 1) / TILE_PIXELS * TILE_PIXELS;
    }

    /**
     * The expansion, {@code act(x · Wᵀ + bias)} of NCHW x into {@code hidden}, blocked
     * {@code [O / L][paddedPixels][L]} (the pixels past the batch's end hold finite values
     * that nothing reads); then {@link #depthwise} of hidden (geometry gd) into {@code out}
     * and {@code means}. Where each of the expansion's tasks covers every pixel of its output
     * strip, that task goes on to convolve the strip's two channel blocks of every image while
     * they are still in its core's cache: the two share one loop over the workers (one
     * wake-up and one loop end fewer), and the depthwise convolution reads from the cache what
     * it would otherwise fetch from memory. Otherwise the depthwise convolution is a loop of
     * its own. The same sums either way.
     *
     * <p>A SiLU expansion leaves hidden unactivated (bias included) and the depthwise
     * convolution applies the SiLU as it copies each row in: one pass over the expanded
     * activations fewer than the tile epilogue's, and the same values (a NaN may come out with
     * the other sign bit; tf_efficientnetv2_s at {@code [5, 3, 224, 224]} about 2 % faster on
     * the AVX2 machine).
     */
    void expandThenDepthwise(Convolutions.Geometry g, MemorySegment x, MemorySegment weight,
            Object constant, MemorySegment bias, Activation act, MemorySegment hidden,
            Convolutions.Geometry gd, MemorySegment depthwiseWeight,
            MemorySegment depthwiseBias, Activation depthwiseAct, MemorySegment out,
            MemorySegment means) {
        float[] input = RUNS ? inputRuns(g, x) : blockedInput(g, x);
        PixelProducts.HeapStrips strips =
                pixelProducts.outputStrips(weight, constant, g.o(), g.c());
        boolean siluOnCopy = act == Activation.SILU;
        DepthwisePlanes planes = new DepthwisePlanes(gd, hidden, siluOnCopy, depthwiseWeight,
                depthwiseBias, depthwiseAct, out, means);
        int stripsAt = strips.acquire();
        boolean stripsDone;
        try {
            stripsDone = products(input, g.c(), paddedPixels(g), strips.floats, stripsAt,
                    g.o(), bias, siluOnCopy ? Activation.IDENTITY : act, hidden, planes::strip);
        } finally {
            strips.release();
        }
        if (!stripsDone) {
            planes.run();
        }
    }

    /**
     * NCHW x blocked as the expansion reads it, {@code [C / L][paddedPixels][L]}, on the
     * calling thread's heap; zero past the batch's pixels.
     */
    private float[] blockedInput(Convolutions.Geometry g, MemorySegment x) {
        int plane = g.h() * g.w();
        int pixels = g.n() * plane;
        int padded = paddedPixels(g);
        int blocks = g.c() / LANES;
        int chunks = (plane + LANES - 1) / LANES;
        // the input blocked as well, so that the tile reads both operands at fixed offsets;
        // zero past the batch's pixels
        float[] input = Convolutions.buffer(inputRows, g.c() * padded);
        long grain = Math.max(1, CHUNK_FLOATS / ((long) plane * LANES));
        workers.forChunks((long) g.n() * blocks, grain, (from, to) -> {
            // L planes, then slack that the last chunk's transpose reads past them
            float[] channels = Convolutions.buffer(planes, LANES * plane + LANES * LANES);
            float[] last = Convolutions.buffer(blockSums, LANES * LANES);
            int[] rows = new int[LANES];
            int[] lastRows = new int[LANES];
            for (int i = 0; i < LANES; i++) {
                lastRows[i] = i * LANES;
            }
            for (long task = from; task < to; task++) {
                int n = (int) (task / blocks);
                int b = (int) (task % blocks);
                MemorySegment.copy(x, F32, ((long) n * g.c() + (long) b * LANES) * plane
                        * Float.BYTES, channels, 0, LANES * plane);
                int first = (b * padded + n * plane) * LANES;
                for (int chunk = 0; chunk < chunks; chunk++) {
                    int p0 = chunk * LANES;
                    int count = Math.min(LANES, plane - p0);
                    if (count == LANES) {
                        for (int i = 0; i < LANES; i++) {
                            rows[i] = first + (p0 + i) * LANES;
                        }
                        Transposes.transpose(channels, p0, plane, input, rows);
                    } else {
                        // a partial chunk's rows past the plane would land on the next
                        // image's pixels, which another task writes
                        Transposes.transpose(channels, p0, plane, last, lastRows);
                        System.arraycopy(last, 0, input, first + p0 * LANES, count * LANES);
                    }
                }
                if (n == g.n() - 1) {
                    Arrays.fill(input, (b * padded + pixels) * LANES, (b + 1) * padded * LANES,
                            0f);
                }
            }
        });
        return input;
    }

    /**
     * NCHW x in runs, as {@link #runTile} reads it, {@code [paddedPixels / 6][C][6]}, on the
     * calling thread's heap; zero past the batch's pixels. A channel's plane is a row of
     * pixels in order, so each tile's run of it is a plain copy: no transpose.
     */
    private float[] inputRuns(Convolutions.Geometry g, MemorySegment x) {
        int plane = g.h() * g.w();
        int channels = g.c();
        int tileFloats = channels * TILE_PIXELS;
        float[] input = Convolutions.buffer(inputRows, channels * paddedPixels(g));
        long grain = Math.max(1, CHUNK_FLOATS / plane);
        // tasks are (image, channel) planes: a tile that spans two images takes its runs'
        // first pixels from one task and the rest from another, different floats
        workers.forChunks((long) g.n() * channels, grain, (from, to) -> {
            float[] row = Convolutions.buffer(planes, plane);
            for (long task = from; task < to; task++) {
                int n = (int) (task / channels);
                int c = (int) (task % channels);
                MemorySegment.copy(x, F32, ((long) n * channels + c) * plane * Float.BYTES, row,
                        0, plane);
                int q = n * plane;
                int k = q % TILE_PIXELS;
                int at = q / TILE_PIXELS * tileFloats + c * TILE_PIXELS + k;
                for (int p = 0; p < plane; p++) {
                    input[at] = row[p];
                    if (++k < TILE_PIXELS) {
                        at++;
                    } else {
                        k = 0;
                        at += tileFloats - (TILE_PIXELS - 1);
                    }
                }
                if (n == g.n() - 1) {
                    // the last tile's pixels past the batch
                    for (; k != 0 && k < TILE_PIXELS; k++) {
                        input[at++] = 0f;
                    }
                }
            }
        });
        return input;
    }

    /**
     * The depthwise convolution of blocked {@code hidden} into blocked {@code out} with
     * {@code act}, and the mean of every output channel of every image into {@code means}
     * ({@code [N, C]}). The positions past the batch's pixels are left as they were; the
     * projection reads zeros there instead.
     */
    void depthwise(Convolutions.Geometry g, MemorySegment hidden, MemorySegment weight,
            MemorySegment bias, Activation act, MemorySegment out, MemorySegment means) {
        new DepthwisePlanes(g, hidden, false, weight, bias, act, out, means).run();
    }

    /**
     * One call of {@link #depthwise}: its geometry and weights laid out once, and the
     * convolution of one (image, channel block) plane at a time; where {@code siluOnCopy},
     * of SiLU(hidden), taken as each row is copied in.
     */
    private final class DepthwisePlanes {
        private final Convolutions.Geometry g;
        private final MemorySegment hidden;
        private final boolean siluOnCopy;
        private final Activation act;
        private final MemorySegment out;
        private final MemorySegment means;
        private final int paddedW;
        private final int inPlane;
        private final int inPadded;
        private final int plane;
        private final int padded;
        private final int blocks;
        private final int taps;
        private final float[] tapWeights;
        private final float[] biases;
        private final int blockFloats;
        private final int sumPixels;
        private final FloatVector inverse;

        DepthwisePlanes(Convolutions.Geometry g, MemorySegment hidden, boolean siluOnCopy,
                MemorySegment weight, MemorySegment bias, Activation act, MemorySegment out,
                MemorySegment means) {
            Conv2dSpec s = g.spec();
            this.g = g;
            this.hidden = hidden;
            this.siluOnCopy = siluOnCopy;
            this.act = act;
            this.out = out;
            this.means = means;
            int paddedH = g.h() + s.padTop() + s.padBottom();
            paddedW = g.w() + s.padLeft() + s.padRight();
            inPlane = g.h() * g.w();
            inPadded = paddedPixels(g);
            // the output's layout, as the projection reads it: the output plane's pixels
            plane = g.outH() * g.outW();
            padded = outputPixels(g);
            blocks = g.c() / LANES;
            tapWeights = Convolutions.channelBlockedTaps(g, weight);
            biases = Convolutions.channelBlockedBiases(g, bias);
            taps = g.kh() * g.kw();
            // the padded image, then slack for the row kernels' unused pixels past the last
            // row
            blockFloats = (paddedH * paddedW + Convolutions.ROW_PIXELS) * LANES;
            sumPixels = (plane + LANES - 1) / LANES * LANES
                    + Math.max(LANES, Convolutions.ROW_PIXELS);
            inverse = FloatVector.broadcast(S, 1f / plane);
        }

        /** Every plane, in chunks over the workers. */
        void run() {
            long grain = Math.max(1, CHUNK_FLOATS / ((long) inPlane * LANES));
            workers.forChunks((long) g.n() * blocks, grain, DEPTHWISE_TASKS_PER_WORKER,
                    (from, to) -> {
                        float[] block = paddedBlock();
                        for (long task = from; task < to; task++) {
                            plane((int) (task / blocks), (int) (task % blocks), block);
                        }
                    });
        }

        /** The planes of output strip {@code strip}'s two channel blocks, every image. */
        void strip(int strip) {
            float[] block = paddedBlock();
            for (int b = 2 * strip; b < 2 * strip + 2; b++) {
                for (int n = 0; n < g.n(); n++) {
                    plane(n, b, block);
                }
            }
        }

        /**
         * The calling worker's padded block, zero: the padding stays zero, as every plane
         * writes the same interior.
         */
        private float[] paddedBlock() {
            float[] block = Convolutions.buffer(paddedBlocks, blockFloats);
            Arrays.fill(block, 0, blockFloats, 0f);
            return block;
        }

        /** Image n's plane of channel block b, through the worker's zero-padded block. */
        private void plane(int n, int b, float[] block) {
            Conv2dSpec s = g.spec();
            float[] sums = Convolutions.buffer(blockSums, sumPixels * LANES);
            long source = ((long) b * inPadded + (long) n * inPlane) * LANES;
            long first = ((long) b * padded + (long) n * plane) * LANES;
            for (int iy = 0; iy < g.h(); iy++) {
                long from = (source + (long) iy * g.w() * LANES) * Float.BYTES;
                int to = ((iy + s.padTop()) * paddedW + s.padLeft()) * LANES;
                if (siluOnCopy) {
                    Pointwise.siluIntoArray(hidden, from, block, to, g.w() * LANES);
                } else {
                    MemorySegment.copy(hidden, F32, from, block, to, g.w() * LANES);
                }
            }
            // LIMITATION: the row kernel skips kernel rows that lie wholly in the padding,
            // here at any plane width and stride: a NaN or infinite depthwise weight on such
            // a row does not reach those outputs, where the NCHW path (over stride-1 planes
            // wider than a vector, and over strided planes of any width) multiplies it by the
            // padding's zero and gives NaN (finite weights: same sums)
            if (s.strideH() == 2) {
                Convolutions.channelBlockRowsByTwo(g, block, tapWeights, b * taps * LANES,
                        biases, b * LANES, paddedW, sums);
            } else {
                Convolutions.channelBlockRows(g, block, tapWeights, b * taps * LANES,
                        biases, b * LANES, paddedW, sums);
            }
            long at = first * Float.BYTES;
            long meansAt = ((long) n * g.c() + (long) b * LANES) * Float.BYTES;
            if (act == Activation.SILU) {
                // activation and means in one pass over the sums, still in L1
                Pointwise.siluWithMeans(sums, plane * LANES, out, at, means, meansAt,
                        1f / plane);
                return;
            }
            MemorySegment.copy(sums, 0, out, F32, at, plane * LANES);
            if (act != Activation.IDENTITY) {
                // the bias is already in the sums
                Pointwise.biasActivate(out, at, out, at, (long) plane * LANES, 0f, act);
            }
            FloatVector sum = FloatVector.zero(S);
            for (int p = 0; p < plane; p++) {
                sum = sum.add(FloatVector.fromMemorySegment(S, out,
                        at + (long) p * LANES * Float.BYTES, LE));
            }
            sum.mul(inverse).intoMemorySegment(means, meansAt, LE);
        }
    }

    /**
     * The projection: {@code (x ⊙ gate) · Wᵀ + bias (+ residual)} of blocked x (the depthwise
     * output, {@code [N, C]} gate) into NCHW {@code y}; {@code sums} is blocked scratch of
     * the output's channels. {@code residual} may be null.
     */
    void project(Convolutions.Geometry g, MemorySegment x, MemorySegment gate,
            MemorySegment weight, Object constant, MemorySegment bias, MemorySegment residual,
            MemorySegment sums, MemorySegment y) {
        PixelProducts.HeapStrips strips =
                pixelProducts.outputStrips(weight, constant, g.o(), g.c());
        int stripsAt = strips.acquire();
        try {
            gatedProducts(g, x, gate, strips.floats, stripsAt, bias, sums, residual, y);
        } finally {
            strips.release();
        }
    }

    /**
     * Image n's blocked sums ({@code [O / L][paddedPixels][L]}) moved to NCHW {@code y},
     * the residual added on the way: the image's L channels of a block are L consecutive
     * planes, so L × L transposes put them in order. A plane that is not whole vectors ends
     * in a partial transpose; it runs first, and what it writes past a channel's plane the
     * next channel's own rows then overwrite (the last channel's, into slack).
     */
    private void imageToPlanes(Convolutions.Geometry g, MemorySegment sums,
            MemorySegment residual, MemorySegment y, int n) {
        int plane = g.h() * g.w();
        int padded = paddedPixels(g);
        int chunks = (plane + LANES - 1) / LANES;
        // the block's pixels, whole vectors of them, then the transposed planes with slack
        float[] pixelsOf = Convolutions.buffer(blockSums, chunks * LANES * LANES);
        float[] channels = Convolutions.buffer(planes, LANES * plane + LANES);
        int[] rows = new int[LANES];
        for (int b = 0; b < g.o() / LANES; b++) {
            long first = ((long) b * padded + (long) n * plane) * LANES;
            // whole vectors of pixels: past the plane, the layout's next pixels (perhaps being
            // written by another task, or at its end what the buffer held), which land only
            // where the next channel's rows overwrite
            long available = sums.byteSize() / Float.BYTES - first;
            MemorySegment.copy(sums, F32, first * Float.BYTES, pixelsOf, 0,
                    (int) Math.min((long) chunks * LANES * LANES, available));
            // the last chunk, partial or whole, first; then the others
            chunkToPlanes(pixelsOf, channels, rows, plane, chunks - 1);
            for (int chunk = 0; chunk < chunks - 1; chunk++) {
                chunkToPlanes(pixelsOf, channels, rows, plane, chunk);
            }
            long out = ((long) n * g.o() + (long) b * LANES) * plane * Float.BYTES;
            int count = LANES * plane;
            if (residual == null) {
                MemorySegment.copy(channels, 0, y, F32, out, count);
                continue;
            }
            for (int i = 0; i < count; i += LANES) {
                long at = out + (long) i * Float.BYTES;
                FloatVector.fromArray(S, channels, i)
                        .add(FloatVector.fromMemorySegment(S, residual, at, LE))
                        .intoMemorySegment(y, at, LE);
            }
        }
    }

    /** Pixels [L · chunk, L · chunk + L) of L channels, transposed into their planes. */
    private static void chunkToPlanes(float[] pixelsOf, float[] channels, int[] rows, int plane,
            int chunk) {
        for (int c = 0; c < LANES; c++) {
            rows[c] = c * plane + chunk * LANES;
        }
        Transposes.transpose(pixelsOf, chunk * LANES * LANES, LANES, channels, rows);
    }

    /**
     * {@code out = act(a · Wᵀ + bias)}, a blocked ({@code [C / L][padded][L]}) or in runs
     * ({@code [padded / 6][C][6]}, where {@link #RUNS}) and out blocked
     * ({@code [outs / L][padded][L]}), with W's transposed strips
     * {@code [outs / 2L][channels][2L]} from index {@code stripsAt} of {@code strips}. Tasks
     * are an output strip's tiles over a run of pixels, that strip's weights staying in cache
     * across them, {@link #TASKS_PER_WORKER} tasks a worker where the strips allow. Where
     * each task is a whole strip (one run of every tile), it then hands the strip to
     * {@code wholeStrip}; returns whether it did.
     */
    private boolean products(float[] a, int channels, int padded, float[] strips, int stripsAt,
            int outs, MemorySegment bias, Activation act, MemorySegment out,
            IntConsumer wholeStrip) {
        int outStrips = outs / TILE_OUTPUTS;
        int tiles = padded / TILE_PIXELS;
        int runs = Math.max(1, Math.min(tiles,
                (TASKS_PER_WORKER * workers.threads() + outStrips - 1) / outStrips));
        int runTiles = (tiles + runs - 1) / runs;
        int[] offsets = RUNS ? weightOffsets(channels) : null;
        int tileStep = RUNS ? channels * TILE_PIXELS : TILE_PIXELS * LANES;
        workers.forEach(outStrips * runs, task -> {
            int strip = task / runs;
            int tile0 = task % runs * runTiles;
            int tile1 = Math.min(tiles, tile0 + runTiles);
            for (int t = tile0; t < tile1; t++) {
                stripTile(a, t * tileStep, channels, padded * LANES, padded, strips, stripsAt,
                        offsets, bias, act, out, strip, t * TILE_PIXELS);
            }
            if (runs == 1) {
                wholeStrip.accept(strip);
            }
        });
        return runs == 1;
    }

    /**
     * {@code y = (x ⊙ gate) · Wᵀ + bias (+ residual)} for the blocked depthwise output x, as
     * {@link #products} into blocked {@code sums}, but with the pixels outside: each task
     * copies one tile's pixels of every channel, gated, into a small heap buffer (a few
     * KiB, in L1) and runs every output strip over it. So x is read once, not once per output
     * strip, and the gate costs no pass of its own; the weights (the block's projection, up to
     * 1.5 MiB) are read from the caches once per tile. The task that finishes an image's last
     * tile moves that image to NCHW, so that needs no loop of its own.
     */
    private void gatedProducts(Convolutions.Geometry g, MemorySegment x, MemorySegment gate,
            float[] strips, int stripsAt, MemorySegment bias, MemorySegment sums,
            MemorySegment residual, MemorySegment y) {
        int channels = g.c();
        int plane = g.h() * g.w();
        int pixels = g.n() * plane;
        int padded = paddedPixels(g);
        int outStrips = g.o() / TILE_OUTPUTS;
        int blocks = channels / LANES;
        int tiles = padded / TILE_PIXELS;
        int[] offsets = RUNS ? weightOffsets(channels) : null;
        // each image's tiles not yet summed, counted down as tiles finish
        AtomicIntegerArray unfinished = new AtomicIntegerArray(g.n());
        for (int n = 0; n < g.n(); n++) {
            unfinished.set(n, lastTile(n, plane) - firstTile(n, plane) + 1);
        }
        // a task a tile: every tile reads all the weights again anyway, so smaller tasks cost
        // only a counter's increment, and the threads finish within a tile of each other
        workers.forEach(tiles, t -> {
            int q0 = t * TILE_PIXELS;
            float[] gated;
            if (RUNS) {
                // the runs, slack for the last transposed row, then the square it transposes
                gated = Convolutions.buffer(tileRows,
                        blocks * TILE_PIXELS * LANES + LANES + LANES * LANES);
                gateRuns(x, gate, q0, pixels, plane, channels, padded, gated);
            } else {
                gated = Convolutions.buffer(tileRows, blocks * TILE_PIXELS * LANES);
                gateTile(x, gate, q0, pixels, plane, channels, padded, gated);
            }
            for (int strip = 0; strip < outStrips; strip++) {
                stripTile(gated, 0, channels, TILE_PIXELS * LANES, padded, strips, stripsAt,
                        offsets, bias, Activation.IDENTITY, sums, strip, q0);
            }
            // the images this tile holds pixels of; the task that finishes one moves it
            int lastImage = Math.min(g.n() - 1, ((t + 1) * TILE_PIXELS - 1) / plane);
            for (int n = t * TILE_PIXELS / plane; n <= lastImage; n++) {
                if (unfinished.decrementAndGet(n) == 0) {
                    imageToPlanes(g, sums, residual, y, n);
                }
            }
        });
    }

    /**
     * Copies the tile at pixel q0 of blocked x, each channel scaled by its image's gate, into
     * {@code gated} ({@code [C / L][TILE_PIXELS][L]}); pixels past the batch's are zero.
     */
    private static void gateTile(MemorySegment x, MemorySegment gate, int q0, int pixels,
            int plane, int channels, int padded, float[] gated) {
        boolean oneImage = oneImage(q0, pixels, plane);
        for (int b = 0; b < channels / LANES; b++) {
            gateBlock(x, gate, q0, pixels, plane, channels, padded, oneImage, b, gated,
                    b * TILE_PIXELS * LANES);
        }
    }

    /**
     * {@link #gateTile} into runs, {@code [C][6]} from the start of {@code gated}, as
     * {@link #runTile} reads them: each block's 6 gated pixels go to a square after the runs
     * (rows 6 and 7 left as they were), and an 8 × 8 transpose writes each channel's row of
     * 8 at its run. Each row's last two floats land on the next channel's run, which its own
     * row then overwrites (the last channel's, on 8 floats of slack).
     */
    private static void gateRuns(MemorySegment x, MemorySegment gate, int q0, int pixels,
            int plane, int channels, int padded, float[] gated) {
        int square = channels * TILE_PIXELS + LANES;
        boolean oneImage = oneImage(q0, pixels, plane);
        int[] rows = new int[LANES];
        for (int b = 0; b < channels / LANES; b++) {
            gateBlock(x, gate, q0, pixels, plane, channels, padded, oneImage, b, gated, square);
            for (int i = 0; i < LANES; i++) {
                rows[i] = (b * LANES + i) * TILE_PIXELS;
            }
            Transposes.transpose8(gated, square, LANES, gated, rows);
        }
    }

    /** Whether every pixel of the tile at q0 lies in the batch and in one image. */
    private static boolean oneImage(int q0, int pixels, int plane) {
        int last = q0 + TILE_PIXELS - 1;
        return last < pixels && q0 / plane == last / plane;
    }

    /**
     * Channel block b of the tile at pixel q0 of blocked x, gated, to {@code gated} from
     * index {@code to}: its 6 pixels' vectors one after another, zero past the batch. Where
     * the tile is {@link #oneImage}, its vectors lie next to one another in x (a run the
     * prefetcher follows from tile to tile) and share one gate vector.
     */
    private static void gateBlock(MemorySegment x, MemorySegment gate, int q0, int pixels,
            int plane, int channels, int padded, boolean oneImage, int b, float[] gated,
            int to) {
        long step = (long) LANES * Float.BYTES;
        long from = ((long) b * padded + q0) * step;
        if (oneImage) {
            FloatVector scale = FloatVector.fromMemorySegment(S, gate,
                    ((long) (q0 / plane) * channels + (long) b * LANES) * Float.BYTES, LE);
            for (int k = 0; k < TILE_PIXELS; k++) {
                FloatVector.fromMemorySegment(S, x, from + k * step, LE).mul(scale)
                        .intoArray(gated, to + k * LANES);
            }
            return;
        }
        for (int k = 0; k < TILE_PIXELS; k++) {
            int q = q0 + k;
            FloatVector pixel = FloatVector.zero(S);
            if (q < pixels) {
                pixel = FloatVector.fromMemorySegment(S, x, from + k * step, LE)
                        .mul(FloatVector.fromMemorySegment(S, gate, ((long) (q / plane)
                                * channels + (long) b * LANES) * Float.BYTES, LE));
            }
            pixel.intoArray(gated, to + k * LANES);
        }
    }

    /** Offsets of each input channel's weights in a strip: {@link #runTile}'s table. */
    private static int[] weightOffsets(int channels) {
        int[] offsets = new int[channels];
        for (int c = 0; c < channels; c++) {
            offsets[c] = c * TILE_OUTPUTS;
        }
        return offsets;
    }

    /** The first and last register tiles that hold pixels of image n. */
    private static int firstTile(int n, int plane) {
        return n * plane / TILE_PIXELS;
    }

    private static int lastTile(int n, int plane) {
        return ((n + 1) * plane - 1) / TILE_PIXELS;
    }

    /**
     * One tile of output strip {@code strip} at pixel q0: operand a's tile from {@code base},
     * its channel blocks {@code blockStep} apart (or in runs, where {@link #RUNS}), W's strips
     * from index {@code stripsAt} ({@link #weightOffsets} for runs); the output blocked with
     * {@code padded} pixels per block.
     */
    private static void stripTile(float[] a, int base, int channels, int blockStep,
            int padded, float[] strips, int stripsAt, int[] offsets, MemorySegment bias,
            Activation act, MemorySegment out, int strip, int q0) {
        long first0 = (long) (2 * strip) * padded * LANES;
        long first1 = first0 + (long) padded * LANES;
        long at0 = (first0 + (long) q0 * LANES) * Float.BYTES;
        long at1 = (first1 + (long) q0 * LANES) * Float.BYTES;
        if (RUNS) {
            runTile(a, base, channels, strips, stripsAt + strip * channels * TILE_OUTPUTS,
                    offsets, bias, (long) strip * TILE_OUTPUTS * Float.BYTES, out, at0, at1);
        } else {
            tile(a, base, channels / LANES, blockStep, strips,
                    stripsAt + strip * channels * TILE_OUTPUTS,
                    bias, (long) strip * TILE_OUTPUTS * Float.BYTES, out, at0, at1);
        }
        if (act != Activation.IDENTITY) {
            // the tile just written, still in L1, bias included: each block's pixels as
            // rows of two vectors, which the register tiles' unmasked epilogue takes
            long row = 2L * LANES * Float.BYTES;
            Pointwise.tileBiasActivate(out, at0, out, at0, row, TILE_PIXELS / 2, null, 0, act);
            Pointwise.tileBiasActivate(out, at1, out, at1, row, TILE_PIXELS / 2, null, 0, act);
        }
    }

    /**
     * One register tile: 6 pixels of blocked a from {@code base} × 2L outputs, every input
     * channel in order, each output's sum a chain of multiply-adds from zero, then its bias
     * (from byte {@code biasAt} of bias; null for none);
     * written to the two output blocks at byte offsets {@code out0} and {@code out1}. Within
     * a block, channel c of pixel k is at {@code Lk + c} from the block's tile: fixed
     * offsets, so the compiler checks each block's reads once.
     */
    private static void tile(float[] a, int base, int blocks, int blockStep, float[] strips,
            int w0, MemorySegment bias, long biasAt, MemorySegment out, long out0, long out1) {
        FloatVector zero = FloatVector.zero(S);
        FloatVector s00 = zero, s01 = zero, s10 = zero, s11 = zero, s20 = zero, s21 = zero;
        FloatVector s30 = zero, s31 = zero, s40 = zero, s41 = zero, s50 = zero, s51 = zero;
        int wi = w0;
        for (int block = 0; block < blocks; block++) {
            int at = base + block * blockStep;
            for (int c = 0; c < LANES; c++, wi += TILE_OUTPUTS) {
                FloatVector w = FloatVector.fromArray(S, strips, wi);
                FloatVector v = FloatVector.fromArray(S, strips, wi + LANES);
                FloatVector x = FloatVector.broadcast(S, a[at + c]);
                s00 = x.fma(w, s00);
                s01 = x.fma(v, s01);
                x = FloatVector.broadcast(S, a[at + c + LANES]);
                s10 = x.fma(w, s10);
                s11 = x.fma(v, s11);
                x = FloatVector.broadcast(S, a[at + c + 2 * LANES]);
                s20 = x.fma(w, s20);
                s21 = x.fma(v, s21);
                x = FloatVector.broadcast(S, a[at + c + 3 * LANES]);
                s30 = x.fma(w, s30);
                s31 = x.fma(v, s31);
                x = FloatVector.broadcast(S, a[at + c + 4 * LANES]);
                s40 = x.fma(w, s40);
                s41 = x.fma(v, s41);
                x = FloatVector.broadcast(S, a[at + c + 5 * LANES]);
                s50 = x.fma(w, s50);
                s51 = x.fma(v, s51);
            }
        }
        long step = (long) LANES * Float.BYTES;
        // the biases are loaded here, not passed in: vectors passed to a call that is not
        // inlined are boxed
        FloatVector bias0 = bias == null ? zero
                : FloatVector.fromMemorySegment(S, bias, biasAt, LE);
        FloatVector bias1 = bias == null ? zero
                : FloatVector.fromMemorySegment(S, bias, biasAt + step, LE);
        s00.add(bias0).intoMemorySegment(out, out0, LE);
        s01.add(bias1).intoMemorySegment(out, out1, LE);
        s10.add(bias0).intoMemorySegment(out, out0 + step, LE);
        s11.add(bias1).intoMemorySegment(out, out1 + step, LE);
        s20.add(bias0).intoMemorySegment(out, out0 + 2 * step, LE);
        s21.add(bias1).intoMemorySegment(out, out1 + 2 * step, LE);
        s30.add(bias0).intoMemorySegment(out, out0 + 3 * step, LE);
        s31.add(bias1).intoMemorySegment(out, out1 + 3 * step, LE);
        s40.add(bias0).intoMemorySegment(out, out0 + 4 * step, LE);
        s41.add(bias1).intoMemorySegment(out, out1 + 4 * step, LE);
        s50.add(bias0).intoMemorySegment(out, out0 + 5 * step, LE);
        s51.add(bias1).intoMemorySegment(out, out1 + 5 * step, LE);
    }

    /**
     * {@link #tile} over a in runs ({@code [C][6]} from {@code base}): the same sums. For
     * AVX2's 16 vector registers: 12 sums, 2 weight vectors and one broadcast fill 15, and
     * C2 placed the loads of a pass before its multiply-adds wherever it could. Reading the
     * weights at offsets from a table ({@link #weightOffsets}) keeps each term's loads after
     * that term's bounds check, which C2 cannot hoist; with offsets it could compute, it
     * loaded three or four broadcasts at once and spilled two sums to the stack (40 GFLOP/s
     * on one Zen 3 core, against 75 for a 4-pixel tile and 94–100 this way). Over the blocked
     * layout, a pass's pixels a vector apart, the same table ran at 51–79: runs keep the
     * tile's reads at one running index. Four channels a pass (C is a multiple of 8).
     */
    private static void runTile(float[] a, int base, int channels, float[] strips, int w0,
            int[] offsets, MemorySegment bias, long biasAt, MemorySegment out, long out0,
            long out1) {
        FloatVector zero = FloatVector.zero(S);
        FloatVector s00 = zero, s01 = zero, s10 = zero, s11 = zero, s20 = zero, s21 = zero;
        FloatVector s30 = zero, s31 = zero, s40 = zero, s41 = zero, s50 = zero, s51 = zero;
        int ai = base;
        for (int c = 0; c < channels; c += 4, ai += 4 * TILE_PIXELS) {
            int wi = w0 + offsets[c];
            FloatVector w = FloatVector.fromArray(S, strips, wi);
            FloatVector v = FloatVector.fromArray(S, strips, wi + LANES);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            s00 = x.fma(w, s00);
            s01 = x.fma(v, s01);
            x = FloatVector.broadcast(S, a[ai + 1]);
            s10 = x.fma(w, s10);
            s11 = x.fma(v, s11);
            x = FloatVector.broadcast(S, a[ai + 2]);
            s20 = x.fma(w, s20);
            s21 = x.fma(v, s21);
            x = FloatVector.broadcast(S, a[ai + 3]);
            s30 = x.fma(w, s30);
            s31 = x.fma(v, s31);
            x = FloatVector.broadcast(S, a[ai + 4]);
            s40 = x.fma(w, s40);
            s41 = x.fma(v, s41);
            x = FloatVector.broadcast(S, a[ai + 5]);
            s50 = x.fma(w, s50);
            s51 = x.fma(v, s51);
            wi = w0 + offsets[c + 1];
            w = FloatVector.fromArray(S, strips, wi);
            v = FloatVector.fromArray(S, strips, wi + LANES);
            x = FloatVector.broadcast(S, a[ai + 6]);
            s00 = x.fma(w, s00);
            s01 = x.fma(v, s01);
            x = FloatVector.broadcast(S, a[ai + 7]);
            s10 = x.fma(w, s10);
            s11 = x.fma(v, s11);
            x = FloatVector.broadcast(S, a[ai + 8]);
            s20 = x.fma(w, s20);
            s21 = x.fma(v, s21);
            x = FloatVector.broadcast(S, a[ai + 9]);
            s30 = x.fma(w, s30);
            s31 = x.fma(v, s31);
            x = FloatVector.broadcast(S, a[ai + 10]);
            s40 = x.fma(w, s40);
            s41 = x.fma(v, s41);
            x = FloatVector.broadcast(S, a[ai + 11]);
            s50 = x.fma(w, s50);
            s51 = x.fma(v, s51);
            wi = w0 + offsets[c + 2];
            w = FloatVector.fromArray(S, strips, wi);
            v = FloatVector.fromArray(S, strips, wi + LANES);
            x = FloatVector.broadcast(S, a[ai + 12]);
            s00 = x.fma(w, s00);
            s01 = x.fma(v, s01);
            x = FloatVector.broadcast(S, a[ai + 13]);
            s10 = x.fma(w, s10);
            s11 = x.fma(v, s11);
            x = FloatVector.broadcast(S, a[ai + 14]);
            s20 = x.fma(w, s20);
            s21 = x.fma(v, s21);
            x = FloatVector.broadcast(S, a[ai + 15]);
            s30 = x.fma(w, s30);
            s31 = x.fma(v, s31);
            x = FloatVector.broadcast(S, a[ai + 16]);
            s40 = x.fma(w, s40);
            s41 = x.fma(v, s41);
            x = FloatVector.broadcast(S, a[ai + 17]);
            s50 = x.fma(w, s50);
            s51 = x.fma(v, s51);
            wi = w0 + offsets[c + 3];
            w = FloatVector.fromArray(S, strips, wi);
            v = FloatVector.fromArray(S, strips, wi + LANES);
            x = FloatVector.broadcast(S, a[ai + 18]);
            s00 = x.fma(w, s00);
            s01 = x.fma(v, s01);
            x = FloatVector.broadcast(S, a[ai + 19]);
            s10 = x.fma(w, s10);
            s11 = x.fma(v, s11);
            x = FloatVector.broadcast(S, a[ai + 20]);
            s20 = x.fma(w, s20);
            s21 = x.fma(v, s21);
            x = FloatVector.broadcast(S, a[ai + 21]);
            s30 = x.fma(w, s30);
            s31 = x.fma(v, s31);
            x = FloatVector.broadcast(S, a[ai + 22]);
            s40 = x.fma(w, s40);
            s41 = x.fma(v, s41);
            x = FloatVector.broadcast(S, a[ai + 23]);
            s50 = x.fma(w, s50);
            s51 = x.fma(v, s51);
        }
        long step = (long) LANES * Float.BYTES;
        FloatVector bias0 = bias == null ? zero
                : FloatVector.fromMemorySegment(S, bias, biasAt, LE);
        FloatVector bias1 = bias == null ? zero
                : FloatVector.fromMemorySegment(S, bias, biasAt + step, LE);
        s00.add(bias0).intoMemorySegment(out, out0, LE);
        s01.add(bias1).intoMemorySegment(out, out1, LE);
        s10.add(bias0).intoMemorySegment(out, out0 + step, LE);
        s11.add(bias1).intoMemorySegment(out, out1 + step, LE);
        s20.add(bias0).intoMemorySegment(out, out0 + 2 * step, LE);
        s21.add(bias1).intoMemorySegment(out, out1 + 2 * step, LE);
        s30.add(bias0).intoMemorySegment(out, out0 + 3 * step, LE);
        s31.add(bias1).intoMemorySegment(out, out1 + 3 * step, LE);
        s40.add(bias0).intoMemorySegment(out, out0 + 4 * step, LE);
        s41.add(bias1).intoMemorySegment(out, out1 + 4 * step, LE);
        s50.add(bias0).intoMemorySegment(out, out0 + 5 * step, LE);
        s51.add(bias1).intoMemorySegment(out, out1 + 5 * step, LE);
    }
}
