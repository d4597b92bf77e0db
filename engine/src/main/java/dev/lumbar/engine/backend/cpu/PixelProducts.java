package dev.lumbar.engine.backend.cpu;

import dev.lumbar.engine.backend.Activation;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * 1×1 convolutions, the ConvNeXt channel MLP and dense stride-1 convolutions computed straight
 * from NCHW images with the engine's own micro-kernel: {@code Y[O, P] = W[O, K] · X[K, P]},
 * where P runs over every pixel of every image of the batch and K is the input channels (times
 * the kernel's taps for a dense convolution).
 *
 * <p>Why not a general matrix product: the pixels are packed block by block straight from
 * NCHW, with a squeeze-excite gate applied on the way or, for a dense convolution, each
 * strip's windows gathered (im2col without its buffer), so no rearranged copy of the input
 * exists; results go straight to NCHW with their epilogue; and in the channel MLP the hidden
 * layer of a block never leaves the core: the first product writes it, activated, in exactly
 * the strips the second product reads. The weights are packed into strips of {@link #MR}
 * rows shared by every block: once for a constant weight (the caller names the object it
 * stands for, see {@link #packed}), and on every call for any other.
 *
 * <p>The pixel axis is cut into blocks of {@link #NR}-wide strips; each block is one task on
 * one worker, with its own buffers. Every output is the same sum in the same order whatever
 * the block size and the number of threads: {@code W[o, k] · X[k, p]} accumulated by fused
 * multiply-adds with k rising, in chunks of {@link #K_CHUNK} terms whose sums are then added in
 * order, then the epilogue. So results do not depend on threads.
 */
final class PixelProducts {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /**
     * Output channels per register tile. Twelve (24 accumulators) would halve the loads of
     * pixel vectors, but C2 then compiles the kernel with boxed vectors, 50 times slower.
     */
    static final int MR = 6;
    /** Pixels per register tile: two vectors. */
    static final int NR = 2 * L;
    /** Terms per partial sum in the kernel. */
    static final int K_CHUNK = 512;

    /**
     * The widest input (or hidden) block a task keeps, in floats: 96 Ki floats, 384 KiB,
     * within a core's L2 with the weights streaming past it.
     */
    private static final int BLOCK_FLOATS = 96 * 1024;
    /** Blocks are at most this many pixels wide: wider ones gain nothing and balance worse. */
    private static final int MAX_BLOCK_PIXELS = 512;
    /** Products are cut into at least this many blocks where the pixels allow it. */
    private static final int MIN_BLOCKS = 8;
    /**
     * Two products whose weights together pass this many floats (8 MiB) stream them from
     * beyond the core's caches once per block, so they take blocks four times as wide and as
     * few as {@link #MIN_STREAMED_BLOCKS}, their hidden layer no longer within L2: ConvNeXt's
     * last stage (768 → 3072 → 768, 19 MB of weights) over 245 pixels ran in 2 blocks rather
     * than 8, its forwards at {@code [5, 3, 224, 224]} 0.1462 → 0.1350 s median (faster in 12
     * of 12 rounds alternating in one process) and at {@code [25, 3, 128, 128]} 0.2231 →
     * 0.2179 (9 of 10), on a 2-core Zen 5. The third stage (1536 hidden, 4.7 MB) taken so as
     * well gained nothing more at 224 and lost 2 % at 128, where its 1,600 pixels made 7
     * blocks for two threads.
     */
    private static final long STREAMED_WEIGHT_FLOATS = 2L << 20;
    private static final int MIN_STREAMED_BLOCKS = 2;

    /**
     * Of the heap the JVM may use, the share packed constant weights may take (those kept off
     * the heap for {@link #rowProducts} counted with them); beyond it further weights are
     * packed on every call. A quarter leaves room for everything else while holding the
     * packed weights of a few backbones.
     */
    private static final int PACKED_HEAP_SHARE = 4;

    private final WorkerPool workers;
    /**
     * Packed constant weights by the object they stand for (compared by identity: the
     * backend's tensors do not override {@code equals}), dropped when that object is
     * collected.
     */
    private final Map<Object, float[]> packedConstants =
            Collections.synchronizedMap(new WeakHashMap<>());
    /** {@link #rowProducts}' transposed constant weights, kept the same way. */
    private final Map<Object, MemorySegment> columnConstants =
            Collections.synchronizedMap(new WeakHashMap<>());
    /** {@link #winogradWeights}' transformed constant weights, kept the same way. */
    private final Map<Object, float[]> winogradConstants =
            Collections.synchronizedMap(new WeakHashMap<>());
    /** {@link #outputStrips}' transposed constant weights, kept the same way. */
    private final Map<Object, HeapStrips> outputConstants =
            Collections.synchronizedMap(new WeakHashMap<>());
    private final ThreadLocal<Buffers> buffers = ThreadLocal.withInitial(Buffers::new);
    private final ThreadLocal<float[]> firstWeights = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> secondWeights =
            ThreadLocal.withInitial(() -> new float[0]);
    /**
     * A band of {@link #convolvePadded} copies at most this many floats of padded input
     * where one output row allows it: 64 Ki floats, 256 KiB, within a core's L2 with the
     * band's input and output passing through.
     */
    private static final long BAND_FLOATS = 64 * 1024;
    /**
     * Each worker's zero-padded copy of a band of a convolution's input for
     * {@link #convolvePadded}, or of the input rows a block of {@link #packWindows} reads.
     */
    // LIMITATION: each worker keeps the largest copy either has needed (for packWindows up
    // to the rows of one block of every input channel, a few hundred KiB in the backbones)
    private final ThreadLocal<MemorySegment> paddedInput =
            ThreadLocal.withInitial(() -> MemorySegment.NULL);

    PixelProducts(WorkerPool workers) {
        this.workers = workers;
    }

    /**
     * One worker's packed pixels, hidden strips and register tile, and a strip of weight
     * rows being packed. The first three are off the heap: the activation loops they pass
     * through also run on tensors, and loops that have seen both heap and native memory are
     * compiled for both and run slower on each. The weight rows are read one float at a time.
     */
    private static final class Buffers {
        MemorySegment input = MemorySegment.NULL;
        MemorySegment hidden = MemorySegment.NULL;
        final MemorySegment tile = Arena.ofAuto().allocate((long) MR * NR * Float.BYTES, 64);
        /**
         * A Winograd strip's sums, a register tile for each of the 16 positions and each of
         * {@link Winograd#ROW_STRIPS} strips of weight rows.
         */
        final MemorySegment sums = Arena.ofAuto().allocate(
                (long) Winograd.POSITIONS * Winograd.ROW_STRIPS * MR * NR * Float.BYTES, 64);
        /** The 4 outputs of each tile of a Winograd strip, a register tile each. */
        final MemorySegment outputs =
                Arena.ofAuto().allocate(4L * MR * NR * Float.BYTES, 64);
        /** A band's input rows split into even and odd columns, for the Winograd products. */
        MemorySegment phases = MemorySegment.NULL;
        /** A band's transformed input, for the Winograd products. */
        MemorySegment transformed = MemorySegment.NULL;

        float[] rows = new float[0];

        /** Room for one strip of weight rows, on the heap. */
        float[] weightRows(int floats) {
            if (rows.length < floats) {
                rows = new float[floats];
            }
            return rows;
        }

        MemorySegment input(long floats) {
            input = grown(input, floats);
            return input;
        }

        MemorySegment hidden(long floats) {
            hidden = grown(hidden, floats);
            return hidden;
        }

        MemorySegment transformed(long floats) {
            transformed = grown(transformed, floats);
            return transformed;
        }

        MemorySegment phases(long floats) {
            phases = grown(phases, floats);
            return phases;
        }

        private static MemorySegment grown(MemorySegment buffer, long floats) {
            long bytes = floats * Float.BYTES;
            // an automatic arena: the collector frees it with the worker's buffers
            return buffer.byteSize() >= bytes ? buffer : Arena.ofAuto().allocate(bytes, 64);
        }
    }

    /**
     * LayerNorm across channels ({@code γ}, {@code β} per channel, and ε), applied to a
     * product's input pixels as they are packed.
     */
    record ChannelNorm(float[] gamma, float[] beta, float eps) {
    }

    /** The images: N planes of {@code plane} pixels, C channels each. */
    record Images(int n, int c, long plane) {
        long pixels() {
            return n * plane;
        }
    }

    /**
     * {@code y = act(W · (x ⊙ gate) + bias) + residual} for NCHW x ([N, C, H, W]) and y
     * ([N, O, H, W]); {@code gate} ([N, C]), {@code bias} ([O]) and {@code residual} (the
     * shape of y) may be null.
     */
    void pointwise(Images in, MemorySegment x, MemorySegment gate, int o, MemorySegment weight,
            Object constant, MemorySegment bias, Activation act, MemorySegment y,
            MemorySegment residual) {
        // Every strip is packed, also where its NR pixels lie within one image and could be
        // read in place, their rows a plane apart. Packing costs a copy of k rows, the
        // products MR-row tiles of k terms for every output channel; and over packed rows,
        // a constant step apart, the kernel needs no bounds check per read. On a 2-core
        // AVX-512 Xeon, reading in place made none of EfficientNetV2-S's 1×1 products
        // (4×4 to 56×56 planes) faster and several up to 16 % slower; only few outputs over
        // a large plane with an activation, which the backbones do not have, ran up to 13 %
        // faster in place (96 → 48 channels over 56×56 with SiLU).
        activatedProducts(in.c, in.pixels(), in.plane, o, packed(weight, constant, o, in.c),
                bias, act, y, residual,
                (p0, count, packed) -> pack(in, x, gate, null, p0, count, packed));
    }

    /**
     * The window of a dense convolution with dilation 1 and a horizontal stride of 1 or 2:
     * kernel size, strides, the padding before the first row and column, and the output size.
     */
    record Window(int h, int w, int kh, int kw, int strideH, int strideW, int padTop,
            int padLeft, int outH, int outW) {
        int outPlane() {
            return outH * outW;
        }
    }

    /**
     * {@code y = act(conv(x, W) + bias)} for a dense convolution (one group, dilation 1, a
     * horizontal stride of 1 or 2) of NCHW x: im2col without the im2col buffer. Each strip of
     * output pixels is packed block by block ({@link #packWindows}), one row per (channel,
     * kernel row, kernel column), which is the layout of W's rows, so W ([O, C·kh·kw]) is
     * used as it is.
     */
    void convolve(Images in, Window win, MemorySegment x, int o, MemorySegment weight,
            Object constant, MemorySegment bias, Activation act, MemorySegment y,
            MemorySegment residual) {
        int k = in.c * win.kh * win.kw;
        activatedProducts(k, (long) in.n * win.outPlane(), win.outPlane(), o,
                packed(weight, constant, o, k), bias, act, y, residual,
                (p0, count, packed) -> packWindows(in, win, x, p0, count, packed));
    }

    /**
     * {@code y = act(conv(x, W) + bias) + residual} for a dense convolution of stride 1, or 2
     * both ways (one group, dilation 1), read straight from a zero-padded copy of x, with no
     * windows gathered. In the copy every image row is {@code outW + kw − 1} wide, so the
     * window of output (oy, ox) at tap (c, ky, kx) starts at the same offset from (oy, ox)
     * for every output pixel: a strip of NR outputs at consecutive positions of the padded
     * rows reads each tap as two plain vectors of the copy. Strips either start at each output
     * row or run on across the padded rows' last {@code kw − 1} positions, which are computed
     * and dropped (see {@link PaddedStrips}); the copy is made a band of output rows at a time
     * ({@link #band}). With stride 2 each padded row is split into its even and its odd
     * columns ({@link #copyBandPhases}), so that consecutive outputs again read consecutive
     * floats, and strips start at each output row. The sums are those of {@link #convolve},
     * term for term in the same order, so the two give the same bits.
     */
    void convolvePadded(Images in, Window win, MemorySegment x, int o, MemorySegment weight,
            Object constant, MemorySegment bias, Activation act, MemorySegment y,
            MemorySegment residual) {
        // Band by band: each task copies the padded input of a band of output rows (with the
        // kh − 1 rows below it) into its worker's buffer and runs every product of that band
        // while the copy, and the band of input that a residual block adds back, are in the
        // core's cache. A copy of the whole batch first (10 MiB for 25 EfficientNetV2-S
        // inputs at 128 × 128) had left the caches by the time the products read it.
        if (win.strideH != win.strideW || win.strideW != 1 && win.strideW != 2) {
            // the copy and its strips are laid out for these two alone
            throw new IllegalArgumentException("a padded copy takes stride 1 or 2 both ways, not "
                    + win.strideH + " × " + win.strideW);
        }
        int k = in.c * win.kh * win.kw;
        float[] weights = packed(weight, constant, o, k);
        boolean strided = win.strideW == 2;
        Window band = band(in.c, win);
        int bandRows = band.outH;
        int bands = (win.outH + bandRows - 1) / bandRows;
        PaddedStrips layout = PaddedStrips.of(band);
        // the positions between output rows in the copy
        int pitch = layout.pitch;
        int phaseWidth = PaddedStrips.phaseWidth(win);
        int copyRows = strided ? 2 * bandRows + win.kh - 2 : bandRows + win.kh - 1;
        long padded = strided ? 2L * copyRows * phaseWidth : (long) copyRows * pitch;
        long[] offsets = new long[k];
        for (int c = 0, t = 0; c < in.c; c++) {
            for (int ky = 0; ky < win.kh; ky++) {
                for (int kx = 0; kx < win.kw; kx++, t++) {
                    long tap = strided
                            ? (long) kx % 2 * copyRows * phaseWidth + (long) ky * phaseWidth
                                    + kx / 2
                            : (long) ky * pitch + kx;
                    offsets[t] = (c * padded + tap) * Float.BYTES;
                }
            }
        }
        // a strip past a band's last output reads up to NR − 1 floats past the band's copy
        long bytes = (in.c * padded + NR) * Float.BYTES;
        workers.forEach(in.n * bands, task -> {
            int n = task / bands;
            int r0 = task % bands * bandRows;
            int rows = Math.min(bandRows, win.outH - r0);
            MemorySegment copy = paddedBand(bytes);
            MemorySegment tile = buffers.get().tile;
            if (strided) {
                copyBandPhases(in, win, x, n, r0, copyRows, phaseWidth, padded, copy);
            } else {
                copyBand(in, win, x, n, r0, rows, pitch, padded, copy);
            }
            for (int o0 = 0; o0 < o; o0 += MR) {
                for (int s = 0; s < layout.perImage; s++) {
                    long q0 = layout.start(s);
                    if (q0 / pitch >= rows) {
                        // the last band of an image may be shorter than the others
                        break;
                    }
                    paddedKernel(k, weights, o0 * k, copy, q0 * Float.BYTES, offsets, tile);
                    storePaddedRows(tile, o0, Math.min(MR, o - o0), y, o, win, pitch,
                            layout.perRow, n, r0, rows, q0, bias, act, residual);
                }
            }
        });
    }

    /**
     * The window of one band of {@link #convolvePadded} over {@code channels} input
     * channels: as many output rows as keep a band's padded copy within
     * {@link #BAND_FLOATS}, at least one, then spread evenly over the bands the image needs,
     * so that no band is a sliver (the last may be shorter).
     */
    static Window band(int channels, Window win) {
        // (no input channels, or no output rows: one band, which copies or computes nothing);
        // with stride 2, two padded rows of two phases an output row
        long rowFloats = win.strideW == 2 ? 4L * PaddedStrips.phaseWidth(win)
                : win.outW + win.kw - 1;
        long perRow = Math.max(1, channels * rowFloats);
        long most = Math.max(1, Math.min(win.outH, BAND_FLOATS / perRow - (win.kh - 1)));
        long bands = Math.max(1, (win.outH + most - 1) / most);
        int rows = (int) Math.max(1, (win.outH + bands - 1) / bands);
        return new Window(win.h, win.w, win.kh, win.kw, win.strideH, win.strideW, win.padTop,
                win.padLeft, rows, win.outW);
    }

    /**
     * The calling worker's buffer for a padded copy (a band's, or a block's rows), grown to
     * at least {@code bytes} and kept for its next calls.
     */
    private MemorySegment paddedBand(long bytes) {
        MemorySegment buffer = paddedInput.get();
        if (buffer.byteSize() < bytes) {
            buffer = Arena.ofAuto().allocate(bytes, 64);
            paddedInput.set(buffer);
        }
        return buffer;
    }

    /**
     * The input rows that output rows [r0, r0 + rows) of image n read, copied into
     * {@code to} as one plane of {@code padded} floats per channel, rows {@code pitch} wide,
     * with the padding's zeros around them: row j of a plane is padded row r0 + j.
     */
    private static void copyBand(Images in, Window win, MemorySegment x, int n, int r0,
            int rows, int pitch, long padded, MemorySegment to) {
        long rowBytes = (long) pitch * Float.BYTES;
        long left = (long) win.padLeft * Float.BYTES;
        long inRow = (long) win.w * Float.BYTES;
        for (int c = 0; c < in.c; c++) {
            long from = ((long) n * in.c + c) * in.plane * Float.BYTES;
            long base = c * padded * Float.BYTES;
            for (int j = 0; j < rows + win.kh - 1; j++) {
                long row = base + j * rowBytes;
                int iy = r0 + j - win.padTop;
                if (iy < 0 || iy >= win.h) {
                    to.asSlice(row, rowBytes).fill((byte) 0);
                    continue;
                }
                to.asSlice(row, left).fill((byte) 0);
                MemorySegment.copy(x, from + iy * inRow, to, row + left, inRow);
                to.asSlice(row + left + inRow, rowBytes - left - inRow).fill((byte) 0);
            }
        }
    }

    /**
     * {@link #copyBand} for stride 2: padded rows {@code 2·r0 ..} of image n, each split into
     * its even columns, in the first phase plane of the channel, and its odd ones, in the
     * second ({@code copyRows} rows of {@code phaseWidth} floats each), zero where the
     * padding is; one plane of {@code padded} floats per channel. Output (oy, ox) of the band
     * then reads tap (ky, kx) at row 2·oy + ky, float ox + kx / 2, of phase kx mod 2.
     */
    private static void copyBandPhases(Images in, Window win, MemorySegment x, int n, int r0,
            int copyRows, int phaseWidth, long padded, MemorySegment to) {
        long phaseBytes = (long) phaseWidth * Float.BYTES;
        long oddPhase = (long) copyRows * phaseBytes;
        long inRow = (long) win.w * Float.BYTES;
        // a padded row (every column the windows read, and the 2·L spare floats that
        // Convolutions.halves reads past it), then its two phases
        int paddedW = 2 * phaseWidth;
        float[] row = new float[paddedW + 2 * L];
        float[] phases = new float[2 * phaseWidth];
        int copied = Math.max(0, Math.min(win.w, paddedW - win.padLeft));
        for (int c = 0; c < in.c; c++) {
            long from = ((long) n * in.c + c) * in.plane * Float.BYTES;
            long base = c * padded * Float.BYTES;
            for (int j = 0; j < copyRows; j++) {
                long at = base + j * phaseBytes;
                int iy = 2 * r0 + j - win.padTop;
                if (iy < 0 || iy >= win.h || copied == 0) {
                    to.asSlice(at, phaseBytes).fill((byte) 0);
                    to.asSlice(at + oddPhase, phaseBytes).fill((byte) 0);
                    continue;
                }
                Arrays.fill(row, 0, paddedW, 0f);
                MemorySegment.copy(x, F32, from + iy * inRow, row, win.padLeft, copied);
                Convolutions.halves(row, 1, paddedW, phaseWidth, phases);
                MemorySegment.copy(phases, 0, to, F32, at, phaseWidth);
                MemorySegment.copy(phases, phaseWidth, to, F32, at + oddPhase, phaseWidth);
            }
        }
    }

    /**
     * Where the strips of {@link #convolvePadded} start in an image's padded rows
     * ({@code pitch} positions from one output row to the next): at every output row,
     * {@code perRow} strips each, or (perRow 0) one after another across the rows, up to the
     * image's last output. Whichever drops the fewer products: by row where NR divides the
     * output width, and always with stride 2 (an output row's phases are two padded rows of
     * {@link #phaseWidth} after the last's).
     */
    record PaddedStrips(int pitch, int perRow, int perImage, double share) {
        static PaddedStrips of(Window win) {
            int perRow = (win.outW + NR - 1) / NR;
            if (win.strideW == 2) {
                long byRow = (long) win.outH * perRow;
                return new PaddedStrips(2 * phaseWidth(win), perRow, Math.toIntExact(byRow),
                        1 - (double) win.outPlane() / (byRow * NR));
            }
            int pitch = win.outW + win.kw - 1;
            long byRow = (long) win.outH * perRow;
            long last = (long) (win.outH - 1) * pitch + win.outW;
            long across = (last + NR - 1) / NR;
            double plane = win.outPlane();
            return byRow <= across
                    ? new PaddedStrips(pitch, perRow, Math.toIntExact(byRow),
                            1 - plane / (byRow * NR))
                    : new PaddedStrips(pitch, 0, Math.toIntExact(across),
                            1 - plane / (across * NR));
        }

        /**
         * With stride 2, the floats of each phase of a padded row in the copy: every column
         * an output row's windows read, {@code outW + (kw − 1) / 2}.
         */
        static int phaseWidth(Window win) {
            return win.outW + (win.kw - 1) / 2;
        }

        /** The padded position where strip i of an image starts. */
        long start(long i) {
            if (perRow == 0) {
                return i * NR;
            }
            long row = i / perRow;
            return row * pitch + (i - row * perRow) * NR;
        }
    }

    /** The share of a {@link #convolvePadded} product's work spent on outputs it drops. */
    static double paddedShare(int channels, Window win) {
        return PaddedStrips.of(band(channels, win)).share;
    }

    /**
     * Like {@link #kernel}, with the pixel rows read from a padded copy: row p of the
     * strip is {@code [base + offsets[p], + NR floats)} of {@code x}, offsets in bytes. A
     * second copy of the register tile: vectors cannot cross a call without being boxed, and
     * one body for both, choosing between the table and the packed strip's fixed step on each
     * term, ran tf_efficientnetv2_s forwards 10 % slower.
     */
    private static void paddedKernel(int k, float[] a, int aOff, MemorySegment x, long base,
            long[] offsets, MemorySegment tile) {
        FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S);
        FloatVector s10 = FloatVector.zero(S), s11 = FloatVector.zero(S);
        FloatVector s20 = FloatVector.zero(S), s21 = FloatVector.zero(S);
        FloatVector s30 = FloatVector.zero(S), s31 = FloatVector.zero(S);
        FloatVector s40 = FloatVector.zero(S), s41 = FloatVector.zero(S);
        FloatVector s50 = FloatVector.zero(S), s51 = FloatVector.zero(S);
        int ai = aOff;
        long half = (long) L * Float.BYTES;
        for (int p0 = 0; p0 < k; p0 += K_CHUNK) {
            int p1 = Math.min(k, p0 + K_CHUNK);
            FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
            FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
            FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
            FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
            FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
            FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
            // four terms per pass, in order (the same sums), as in kernel: with one term a
            // pass, C2 kept three broadcasts live at once and, with AVX2's 16 vector
            // registers, spilled a sum to the stack (42 GFLOP/s on one Zen 3 core over 24
            // channels' 3×3 windows, 88 this way)
            int p = p0;
            for (; p + 4 <= p1; p += 4, ai += 4 * MR) {
                long bi = base + offsets[p];
                FloatVector b0 = FloatVector.fromMemorySegment(S, x, bi, LE);
                FloatVector b1 = FloatVector.fromMemorySegment(S, x, bi + half, LE);
                FloatVector a0 = FloatVector.broadcast(S, a[ai]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                FloatVector a1 = FloatVector.broadcast(S, a[ai + 1]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                FloatVector a2 = FloatVector.broadcast(S, a[ai + 2]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                FloatVector a3 = FloatVector.broadcast(S, a[ai + 3]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                FloatVector a4 = FloatVector.broadcast(S, a[ai + 4]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                FloatVector a5 = FloatVector.broadcast(S, a[ai + 5]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
                bi = base + offsets[p + 1];
                b0 = FloatVector.fromMemorySegment(S, x, bi, LE);
                b1 = FloatVector.fromMemorySegment(S, x, bi + half, LE);
                a0 = FloatVector.broadcast(S, a[ai + 6]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                a1 = FloatVector.broadcast(S, a[ai + 7]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                a2 = FloatVector.broadcast(S, a[ai + 8]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                a3 = FloatVector.broadcast(S, a[ai + 9]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                a4 = FloatVector.broadcast(S, a[ai + 10]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                a5 = FloatVector.broadcast(S, a[ai + 11]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
                bi = base + offsets[p + 2];
                b0 = FloatVector.fromMemorySegment(S, x, bi, LE);
                b1 = FloatVector.fromMemorySegment(S, x, bi + half, LE);
                a0 = FloatVector.broadcast(S, a[ai + 12]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                a1 = FloatVector.broadcast(S, a[ai + 13]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                a2 = FloatVector.broadcast(S, a[ai + 14]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                a3 = FloatVector.broadcast(S, a[ai + 15]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                a4 = FloatVector.broadcast(S, a[ai + 16]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                a5 = FloatVector.broadcast(S, a[ai + 17]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
                bi = base + offsets[p + 3];
                b0 = FloatVector.fromMemorySegment(S, x, bi, LE);
                b1 = FloatVector.fromMemorySegment(S, x, bi + half, LE);
                a0 = FloatVector.broadcast(S, a[ai + 18]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                a1 = FloatVector.broadcast(S, a[ai + 19]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                a2 = FloatVector.broadcast(S, a[ai + 20]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                a3 = FloatVector.broadcast(S, a[ai + 21]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                a4 = FloatVector.broadcast(S, a[ai + 22]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                a5 = FloatVector.broadcast(S, a[ai + 23]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
            }
            for (; p < p1; p++, ai += MR) {
                long bi = base + offsets[p];
                FloatVector b0 = FloatVector.fromMemorySegment(S, x, bi, LE);
                FloatVector b1 = FloatVector.fromMemorySegment(S, x, bi + half, LE);
                FloatVector a0 = FloatVector.broadcast(S, a[ai]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                FloatVector a1 = FloatVector.broadcast(S, a[ai + 1]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                FloatVector a2 = FloatVector.broadcast(S, a[ai + 2]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                FloatVector a3 = FloatVector.broadcast(S, a[ai + 3]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                FloatVector a4 = FloatVector.broadcast(S, a[ai + 4]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                FloatVector a5 = FloatVector.broadcast(S, a[ai + 5]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
            }
            s00 = s00.add(c00);
            s01 = s01.add(c01);
            s10 = s10.add(c10);
            s11 = s11.add(c11);
            s20 = s20.add(c20);
            s21 = s21.add(c21);
            s30 = s30.add(c30);
            s31 = s31.add(c31);
            s40 = s40.add(c40);
            s41 = s41.add(c41);
            s50 = s50.add(c50);
            s51 = s51.add(c51);
        }
        s00.intoMemorySegment(tile, 0, LE);
        s01.intoMemorySegment(tile, half, LE);
        s10.intoMemorySegment(tile, 2 * half, LE);
        s11.intoMemorySegment(tile, 3 * half, LE);
        s20.intoMemorySegment(tile, 4 * half, LE);
        s21.intoMemorySegment(tile, 5 * half, LE);
        s30.intoMemorySegment(tile, 6 * half, LE);
        s31.intoMemorySegment(tile, 7 * half, LE);
        s40.intoMemorySegment(tile, 8 * half, LE);
        s41.intoMemorySegment(tile, 9 * half, LE);
        s50.intoMemorySegment(tile, 10 * half, LE);
        s51.intoMemorySegment(tile, 11 * half, LE);
    }

    /**
     * Rows [o0, o0 + rows) of a {@link #convolvePadded} tile, the strip at position q0 of
     * the padded band that starts at output row r0 of image n (band rows {@code pitch}
     * wide, {@code perRow} strips to a row or, 0, strips across the rows), to NCHW y as
     * {@code act(tile + bias) + residual}: each padded row's first outW positions go to that
     * output row, the rest, and rows past the band's {@code bandRows}, are dropped. Every
     * output is stored by one strip only: a strip by row that runs past its padded row also
     * computes the next row's first outputs, but stores none of them. Those belong to the
     * next row's first strip, which may be running on another worker (in the next band) and,
     * on its way within one row, writes the activated sums to y and then reads them back to
     * add the residual: a second store landing in between would have the residual added
     * twice.
     */
    private static void storePaddedRows(MemorySegment tile, int o0, int rows, MemorySegment y,
            int o, Window win, int pitch, int perRow, long n, int r0, int bandRows, long q0,
            MemorySegment bias, Activation act, MemorySegment residual) {
        long firstRow = q0 / pitch;
        int firstColumn = (int) (q0 - firstRow * pitch);
        if (firstColumn + NR <= win.outW) {
            // the strip lies within one output row: each row goes to y as it is activated
            long stride = (long) win.outPlane() * Float.BYTES;
            long at = (((n * o + o0) * win.outH + r0 + firstRow) * win.outW + firstColumn)
                    * Float.BYTES;
            Pointwise.tileBiasActivate(tile, 0, y, at, stride, rows, bias, o0, act);
            if (residual != null) {
                for (int r = 0; r < rows; r++) {
                    long row = at + r * stride;
                    addVector(y, row, residual);
                    addVector(y, row + (long) L * Float.BYTES, residual);
                }
            }
            return;
        }
        Pointwise.tileBiasActivate(tile, 0, tile, 0, (long) NR * Float.BYTES, rows, bias, o0,
                act);
        // the strip's own positions: all NR across rows, its padded row's rest by row
        int owned = perRow == 0 ? NR : Math.min(NR, pitch - firstColumn);
        int done = 0;
        while (done < owned) {
            long q = q0 + done;
            long oy = q / pitch;
            int ox = (int) (q - oy * pitch);
            if (oy >= bandRows) {
                return;
            }
            int run = Math.min(owned - done, win.outW - ox);
            if (run > 0) {
                for (int r = 0; r < rows; r++) {
                    storeRun(tile, ((long) r * NR + done) * Float.BYTES, y,
                            (((n * o + o0 + r) * win.outH + r0 + oy) * win.outW + ox)
                                    * Float.BYTES, run, residual);
                }
            }
            done += Math.min(owned - done, pitch - ox);
        }
    }

    /** Fills a block's packed strips ({@code [k][NR]} each) for pixels [p0, p0 + count). */
    @FunctionalInterface
    private interface BlockPacker {
        void pack(long p0, int count, MemorySegment packed);
    }

    /** Bytes between consecutive rows of a packed strip. */
    private static final long STRIP_STEP = (long) NR * Float.BYTES;

    /** Where packed strip {@code s} of {@code k} rows starts, in bytes. */
    private static long stripAt(int s, int k) {
        return (long) s * k * NR * Float.BYTES;
    }

    /**
     * {@code y = act(W · B + bias) + residual} for W ([o, k]) and the pixel columns B that
     * {@code packer} lays out block by block; y (and residual, if not null) is NCHW with
     * {@code outPlane} pixels per image and channel. The body shared by the 1×1 and the
     * windowed convolutions.
     */
    private void activatedProducts(int k, long pixels, long outPlane, int o, float[] weights,
            MemorySegment bias, Activation act, MemorySegment y, MemorySegment residual,
            BlockPacker packer) {
        int width = blockWidth(pixels, k);
        long blocks = (pixels + width - 1) / width;
        workers.forEach(Math.toIntExact(blocks), block -> {
            Buffers buf = buffers.get();
            long p0 = (long) block * width;
            int count = (int) Math.min(width, pixels - p0);
            int strips = (count + NR - 1) / NR;
            MemorySegment packed = buf.input((long) strips * k * NR);
            packer.pack(p0, count, packed);
            for (int o0 = 0; o0 < o; o0 += MR) {
                for (int s = 0; s < strips; s++) {
                    kernel(k, weights, o0 * k, packed, stripAt(s, k), buf.tile, 0);
                    long q0 = p0 + (long) s * NR;
                    storeActivated(buf.tile, o0, Math.min(MR, o - o0), y, o, outPlane, q0,
                            (int) Math.min(NR, p0 + count - q0), bias, act, residual);
                }
            }
        });
    }

    /**
     * Packs output pixels [p0, p0 + count) of a convolution into strips of NR, each laid out
     * {@code [C·kh·kw][NR]}: row (c, ky, kx) of a strip holds, for each of its pixels
     * (n, oy, ox), {@code x[n, c, oy·sh + ky − padTop, ox·sw + kx − padLeft]}, or zero in the
     * padding. Pixels past the end are zero.
     *
     * <p>A block within one image first copies the input rows its windows read into the
     * worker's buffer, zero-padded ({@link #copyWindowRows}), and packs from there with plain
     * loads; a block that crosses into the next image reads x in place, its loads masked at
     * the rows' edges. The copy costs one sequential pass over a few rows of every channel;
     * read in place, each packed vector is a load from another channel's plane, a page or
     * more apart, which the hardware seems not to fetch ahead, and strips that start and end
     * mid-row take masks at both ends of each piece. With the copy, EfficientNetV2-S's fused
     * MBConv {@code [5, 48, 56, 56]} → 192 → 48 ran 2.5 % faster than reading in place, its
     * strided ones 3–5 %. Where the output width is a multiple of NR, every strip lies in
     * one output row and starts at a vector boundary, so only the row's two ends take masks;
     * there the copy cost more than it saved ({@code [25, 48, 32, 32]} → 192 → 48 1–2 %
     * slower), and those read in place; so do vertical strides longer than the kernel,
     * whose copy would hold rows no window reads.
     */
    private void packWindows(Images in, Window win, MemorySegment x, long p0, int count,
            MemorySegment packed) {
        long outPlane = win.outPlane();
        int image = (int) (p0 / outPlane);
        if ((p0 + count - 1) / outPlane != image || win.outW % NR == 0
                || win.strideH > win.kh) {
            packRuns(in, win, x, true, 0, 0, 0, p0, count, packed);
            return;
        }
        int at = (int) (p0 - image * outPlane);
        int iyFirst = at / win.outW * win.strideH - win.padTop;
        int rows = ((at + count - 1) / win.outW - at / win.outW) * win.strideH + win.kh;
        int pitch = (win.outW - 1) * win.strideW + win.kw;
        // stride 2 reads two vectors from a row's last window, past the last row
        MemorySegment copy = paddedBand(((long) in.c * rows * pitch + 2 * L) * Float.BYTES);
        copyWindowRows(in, win, x, image, iyFirst, rows, pitch, copy);
        packRuns(in, win, copy, false, iyFirst, rows, pitch, p0, count, packed);
    }

    /**
     * Input rows [iyFirst, iyFirst + rows) of image n, every channel, into {@code to} as
     * {@code rows} rows {@code pitch} wide per channel: each row's columns from −padLeft on,
     * zero outside the image.
     */
    private static void copyWindowRows(Images in, Window win, MemorySegment x, int n,
            int iyFirst, int rows, int pitch, MemorySegment to) {
        long rowBytes = (long) pitch * Float.BYTES;
        long left = (long) win.padLeft * Float.BYTES;
        // a row may read fewer columns than the input has (stride 2 over an even width)
        long inRow = (long) Math.min(win.w, pitch - win.padLeft) * Float.BYTES;
        for (int c = 0; c < in.c; c++) {
            long from = ((long) n * in.c + c) * in.plane * Float.BYTES;
            long base = (long) c * rows * rowBytes;
            for (int r = 0; r < rows; r++) {
                long row = base + r * rowBytes;
                int iy = iyFirst + r;
                if (iy < 0 || iy >= win.h) {
                    to.asSlice(row, rowBytes).fill((byte) 0);
                    continue;
                }
                to.asSlice(row, left).fill((byte) 0);
                MemorySegment.copy(x, from + (long) iy * win.w * Float.BYTES, to, row + left,
                        inRow);
                to.asSlice(row + left + inRow, rowBytes - left - inRow).fill((byte) 0);
            }
        }
    }

    /**
     * {@link #packWindows}' strips, run by run (a strip's pixels within one output row),
     * then kernel tap and vector of the run, with the channels innermost: one vector position
     * of every channel's row is a loop of loads and stores, a channel of the source (a plane,
     * or a channel's copied rows) and a strip row group apart, its masks made once for all
     * channels. Channels outermost, with a call per few vectors, had spent 7–10 ns a packed
     * vector on counting and masks against 0.6 for the stores alone; this order takes
     * 2.3–3.3 ns ({@code [5, 48, 56, 56]}, one thread, x in cache).
     *
     * <p>{@code source} is x itself ({@code inPlace}: loads masked at the rows' edges, zero
     * outside the image) or the zero-padded rows of {@link #copyWindowRows}, {@code rows}
     * rows {@code pitch} wide per channel from input row iyFirst on, whose loads need no mask.
     */
    private static void packRuns(Images in, Window win, MemorySegment source, boolean inPlace,
            int iyFirst, int rows, int pitch, long p0, int count, MemorySegment packed) {
        int strips = (count + NR - 1) / NR;
        int taps = win.kh * win.kw;
        int k = in.c * taps;
        long stripRow = (long) NR * Float.BYTES;
        long toStep = taps * stripRow;
        long fromStep = (inPlace ? in.plane : (long) rows * pitch) * Float.BYTES;
        int rowPitch = inPlace ? win.w : pitch;
        for (int s = 0; s < strips; s++) {
            long q = p0 + (long) s * NR;
            int width = (int) Math.min(NR, p0 + count - q);
            long base = (long) s * k * stripRow;
            if (width < NR) {
                packed.asSlice(base, k * stripRow).fill((byte) 0);
            }
            int filled = 0;
            while (filled < width) {
                // a run of pixels within one output row
                long pixel = q + filled;
                int image = (int) (pixel / win.outPlane());
                int at = (int) (pixel - (long) image * win.outPlane());
                int oy = at / win.outW;
                int ox0 = at - oy * win.outW;
                int run = Math.min(width - filled, win.outW - ox0);
                int top = oy * win.strideH - win.padTop;
                // where input row iy, column ix of channel 0 lies in the source, less
                // (iy · rowPitch + ix) floats
                long origin = inPlace ? (long) image * in.c * in.plane * Float.BYTES
                        : ((long) -iyFirst * pitch + win.padLeft) * Float.BYTES;
                for (int ky = 0; ky < win.kh; ky++) {
                    int iy = top + ky;
                    for (int kx = 0; kx < win.kw; kx++) {
                        long to = base + ((long) (ky * win.kw + kx) * NR + filled) * Float.BYTES;
                        for (int i = 0; i < run; i += L) {
                            long vectorTo = to + (long) i * Float.BYTES;
                            VectorMask<Float> stored = S.indexInRange(i, run);
                            if (inPlace && (iy < 0 || iy >= win.h)) {
                                zeroChannels(packed, vectorTo, toStep, in.c, stored);
                                continue;
                            }
                            // lane j reads column first + stride·j of input row iy
                            int first = ox0 * win.strideW - win.padLeft + kx + win.strideW * i;
                            long from = origin + ((long) iy * rowPitch + first) * Float.BYTES;
                            // in place, the lanes outside the row are masked to zero;
                            // from the copy, whose rows carry their padding, no lane is
                            int column = inPlace ? first : 0;
                            int rowWidth = inPlace ? win.w : Integer.MAX_VALUE - 2 * L;
                            if (win.strideW == 1) {
                                packChannels(source, from, fromStep, column, rowWidth, packed,
                                        vectorTo, toStep, in.c, stored);
                            } else {
                                packEvenChannels(source, from, fromStep, column, rowWidth,
                                        packed, vectorTo, toStep, in.c, stored);
                            }
                        }
                    }
                }
                filled += run;
            }
        }
    }

    /**
     * For each of {@code channels} channels c: the vector at byte {@code from + c·fromStep}
     * of x, columns [first, first + L) of a row of width w (zero outside it), stored under
     * {@code stored} at {@code to + c·toStep} of packed.
     */
    private static void packChannels(MemorySegment x, long from, long fromStep, int first,
            int w, MemorySegment packed, long to, long toStep, int channels,
            VectorMask<Float> stored) {
        boolean wholeLoad = first >= 0 && first + L <= w;
        if (wholeLoad && stored.allTrue()) {
            for (int c = 0; c < channels; c++, from += fromStep, to += toStep) {
                FloatVector.fromMemorySegment(S, x, from, LE).intoMemorySegment(packed, to, LE);
            }
            return;
        }
        if (wholeLoad) {
            for (int c = 0; c < channels; c++, from += fromStep, to += toStep) {
                FloatVector.fromMemorySegment(S, x, from, LE)
                        .intoMemorySegment(packed, to, LE, stored);
            }
            return;
        }
        VectorMask<Float> loaded = inside(first, w);
        for (int c = 0; c < channels; c++, from += fromStep, to += toStep) {
            FloatVector.fromMemorySegment(S, x, from, LE, loaded)
                    .intoMemorySegment(packed, to, LE, stored);
        }
    }

    /**
     * {@link #packChannels} for a horizontal stride of 2: lane j holds column
     * {@code first + 2j}, the even lanes of the two vectors from {@code first}.
     */
    private static void packEvenChannels(MemorySegment x, long from, long fromStep, int first,
            int w, MemorySegment packed, long to, long toStep, int channels,
            VectorMask<Float> stored) {
        long half = (long) L * Float.BYTES;
        if (first >= 0 && first + 2 * L <= w) {
            for (int c = 0; c < channels; c++, from += fromStep, to += toStep) {
                FloatVector.fromMemorySegment(S, x, from, LE)
                        .rearrange(Convolutions.EVEN_LANES,
                                FloatVector.fromMemorySegment(S, x, from + half, LE))
                        .intoMemorySegment(packed, to, LE, stored);
            }
            return;
        }
        VectorMask<Float> low = inside(first, w);
        VectorMask<Float> high = inside(first + L, w);
        for (int c = 0; c < channels; c++, from += fromStep, to += toStep) {
            FloatVector.fromMemorySegment(S, x, from, LE, low)
                    .rearrange(Convolutions.EVEN_LANES,
                            FloatVector.fromMemorySegment(S, x, from + half, LE, high))
                    .intoMemorySegment(packed, to, LE, stored);
        }
    }

    /** Zero under {@code stored} at {@code to + c·toStep} of packed, for every channel c. */
    private static void zeroChannels(MemorySegment packed, long to, long toStep, int channels,
            VectorMask<Float> stored) {
        FloatVector zero = FloatVector.zero(S);
        for (int c = 0; c < channels; c++, to += toStep) {
            zero.intoMemorySegment(packed, to, LE, stored);
        }
    }

    /** {@code run} zeros to {@code packed} at byte offset {@code to}. */
    private static void zeroRun(MemorySegment packed, long to, int run) {
        FloatVector zero = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= run; i += L) {
            zero.intoMemorySegment(packed, to + (long) i * Float.BYTES, LE);
        }
        if (i < run) {
            zero.intoMemorySegment(packed, to + (long) i * Float.BYTES, LE,
                    S.indexInRange(i, run));
        }
    }

    /** The lanes of a vector starting at column {@code first} that fall in {@code [0, w)}. */
    private static VectorMask<Float> inside(int first, int w) {
        int lo = Math.max(0, -first);
        int hi = Math.min(L, w - first);
        return S.indexInRange(-lo, Math.max(0, hi - lo));
    }

    /**
     * The ConvNeXt MLP, {@code y = residual + scale ⊙ (W2 · act(W1 · x + b1) + b2)}, for NCHW
     * x ([N, C, H, W]); W1 is [Ch, C], W2 [O, Ch]. b1, b2, scale and residual may be null.
     */
    void channelMlp(Images in, MemorySegment x, ChannelNorm norm, int hiddenChannels,
            MemorySegment w1, MemorySegment b1, Activation act, int o, MemorySegment w2,
            MemorySegment b2, MemorySegment scale, MemorySegment residual, MemorySegment y,
            Object constant1, Object constant2) {
        float[] first = packed(w1, constant1, hiddenChannels, in.c, firstWeights);
        float[] second = packed(w2, constant2, o, hiddenChannels, secondWeights);
        twoProducts(in.c, in.pixels(), in.plane, first, b1, act, hiddenChannels, second, o, b2,
                Activation.IDENTITY, scale, residual, y,
                (p0, count, packed) -> pack(in, x, null, norm, p0, count, packed));
    }

    /**
     * A dense convolution (as {@link #convolve} takes it) and a 1×1 projection of its output,
     * {@code y = act2(W2 · act(conv(x, W1) + b1) + b2) + residual}, the convolution's output
     * kept per block of pixels (EfficientNet's fused MBConv without a gate). W1 is
     * [Ch, C·kh·kw], W2 [O, Ch]; b1, b2 and residual may be null, residual the shape of y.
     * The same sums, bias adds, activations and residual add as {@link #convolve} followed by
     * {@link #pointwise}, so the same bits.
     */
    void convolveProjected(Images in, Window win, MemorySegment x, int hiddenChannels,
            MemorySegment w1, Object constant1, MemorySegment b1, Activation act, int o,
            MemorySegment w2, Object constant2, MemorySegment b2, Activation act2,
            MemorySegment residual, MemorySegment y) {
        int k = in.c * win.kh * win.kw;
        if (Winograd.fits(win, in.c, hiddenChannels)) {
            float[] first = winogradWeights(w1, constant1, hiddenChannels, in.c);
            float[] second = packed(w2, constant2, o, hiddenChannels, secondWeights);
            winogradProducts(in, win, x, first, b1, act, hiddenChannels, second, o, b2, act2,
                    residual, y);
            return;
        }
        float[] first = packed(w1, constant1, hiddenChannels, k, firstWeights);
        float[] second = packed(w2, constant2, o, hiddenChannels, secondWeights);
        twoProducts(k, (long) in.n * win.outPlane(), win.outPlane(), first, b1, act,
                hiddenChannels, second, o, b2, act2, null, residual, y,
                (p0, count, packed) -> packWindows(in, win, x, p0, count, packed));
    }

    /**
     * {@code y = residual + scale ⊙ act2(W2 · act(W1 · B + b1) + b2)} for the pixel columns B
     * ({@code k} rows) that {@code packer} lays out block by block, W1 and W2 packed; act2
     * must be identity where there is a scale. Each block's hidden layer goes from the first
     * product's epilogue straight into the packed strips the second product reads, so it is
     * never written out whole, never read back from memory and never packed. y and residual
     * are NCHW with {@code outPlane} pixels per image and channel.
     */
    private void twoProducts(int k, long pixels, long outPlane, float[] first, MemorySegment b1,
            Activation act, int hiddenChannels, float[] second, int o, MemorySegment b2,
            Activation act2, MemorySegment scale, MemorySegment residual, MemorySegment y,
            BlockPacker packer) {
        int widest = Math.max(k, hiddenChannels);
        int width = (long) first.length + second.length > STREAMED_WEIGHT_FLOATS
                ? blockWidth(pixels, widest, 4 * BLOCK_FLOATS, MIN_STREAMED_BLOCKS)
                : blockWidth(pixels, widest);
        long blocks = (pixels + width - 1) / width;
        workers.forEach(Math.toIntExact(blocks), block -> {
            Buffers buf = buffers.get();
            long p0 = (long) block * width;
            int count = (int) Math.min(width, pixels - p0);
            int strips = (count + NR - 1) / NR;
            MemorySegment packed = buf.input((long) strips * k * NR);
            MemorySegment hidden = buf.hidden((long) strips * hiddenChannels * NR);
            packer.pack(p0, count, packed);
            for (int h0 = 0; h0 < hiddenChannels; h0 += MR) {
                int rows = Math.min(MR, hiddenChannels - h0);
                for (int s = 0; s < strips; s++) {
                    // the tile becomes rows h0.. of hidden strip s, which lie end to end
                    int at = s * hiddenChannels * NR + h0 * NR;
                    if (rows == MR) {
                        kernel(k, first, h0 * k, packed, stripAt(s, k), hidden, at);
                    } else {
                        kernel(k, first, h0 * k, packed, stripAt(s, k), buf.tile, 0);
                        MemorySegment.copy(buf.tile, 0, hidden, (long) at * Float.BYTES,
                                (long) rows * NR * Float.BYTES);
                    }
                    long rowsAt = (long) at * Float.BYTES;
                    Pointwise.tileBiasActivate(hidden, rowsAt, hidden, rowsAt,
                            (long) NR * Float.BYTES, rows, b1, h0, act);
                }
            }
            for (int o0 = 0; o0 < o; o0 += MR) {
                for (int s = 0; s < strips; s++) {
                    kernel(hiddenChannels, second, o0 * hiddenChannels, hidden,
                            stripAt(s, hiddenChannels), buf.tile, 0);
                    long q0 = p0 + (long) s * NR;
                    int rows = Math.min(MR, o - o0);
                    int run = (int) Math.min(NR, p0 + count - q0);
                    if (scale == null) {
                        // the epilogue of a plain product: the same bias add, activation and
                        // residual add, whole vectors where the strip lies within one image
                        storeActivated(buf.tile, o0, rows, y, o, outPlane, q0, run, b2, act2,
                                residual);
                    } else {
                        storeScaledResidual(buf.tile, o0, rows, y, o, outPlane, q0, run, b2,
                                scale, residual);
                    }
                }
            }
        });
    }

    /**
     * {@code y = act(conv(x, W) + bias) + residual} for a dense convolution that
     * {@link Winograd#fits}, by Winograd's F(2×2, 3×3) ({@link #winogradProducts}); W is
     * {@code [o, C, 3, 3]}, bias and residual (the shape of y) may be null.
     */
    void convolveWinograd(Images in, Window win, MemorySegment x, int o, MemorySegment weight,
            Object constant, MemorySegment bias, Activation act, MemorySegment y,
            MemorySegment residual) {
        winogradProducts(in, win, x, winogradWeights(weight, constant, o, in.c), bias, act, o,
                null, 0, null, Activation.IDENTITY, residual, y);
    }

    /**
     * A dense convolution that {@link Winograd#fits}, by Winograd's F(2×2, 3×3), and, where
     * {@code second} is not null, a 1×1 projection of its output as {@link #twoProducts}
     * runs it: {@code y = act2(W2 · act(conv(x, W1) + b1) + b2) + residual}, else
     * {@code y = act(conv(x, W1) + b1) + residual}. Each task takes a band of 2 × 2 output
     * tiles of one image: it copies the input rows their windows read, split into even and
     * odd columns, transforms them ({@link Winograd#transformInput}), runs the 16
     * products of transformed weights and inputs strip by strip of tiles, transforms each
     * strip's sums back into outputs ({@link Winograd#transformOutput}) and adds b1 and
     * activates them; then stores them to y, or packs them as the hidden layer's pixel strips
     * ({@link Winograd#storeHidden}) and projects those. The convolution's outputs are the
     * same bits either way, and so are the projection's sums, so the two calls give the
     * fused block's bits.
     */
    private void winogradProducts(Images in, Window win, MemorySegment x, float[] first,
            MemorySegment b1, Activation act, int hiddenChannels, float[] second, int o,
            MemorySegment b2, Activation act2, MemorySegment residual, MemorySegment y) {
        int c = in.c;
        int tileRows = win.outH / 2;
        int slots = Winograd.slots(win);
        int groups = slots / L;
        int band = Winograd.bandRows(win);
        int bands = (tileRows + band - 1) / band;
        int weightRows = Winograd.paddedRows(hiddenChannels);
        long outPlane = win.outPlane();
        // half a padded row, and room for the vector loads of a row's last slots
        int phasePitch = slots + L;
        long tile = (long) MR * NR * Float.BYTES;
        long row = (long) NR * Float.BYTES;
        workers.forEach(in.n * bands, task -> {
            int n = task / bands;
            int ty0 = task % bands * band;
            int rows = Math.min(band, tileRows - ty0);
            int tileStrips = (rows * slots + NR - 1) / NR;
            Buffers buf = buffers.get();
            int copyRows = 2 * rows + 2;
            MemorySegment phases = buf.phases((long) c * copyRows * 2 * phasePitch);
            Winograd.splitPhases(in, win, x, n, 2 * ty0 - win.padTop, copyRows, phases,
                    phasePitch);
            MemorySegment v = buf.transformed((long) Winograd.POSITIONS * tileStrips * c * NR);
            Winograd.transformInput(phases, c, copyRows, phasePitch, rows, slots, tileStrips,
                    v);
            int pixelStrips = 2 * rows * groups;
            MemorySegment hidden = second == null ? null
                    : buf.hidden((long) pixelStrips * hiddenChannels * NR);
            long positionStep = (long) Winograd.ROW_STRIPS * tile;
            for (int s = 0; s < tileStrips; s++) {
                for (int g0 = 0; g0 < hiddenChannels; g0 += Winograd.ROW_STRIPS * MR) {
                    int g1 = Math.min(hiddenChannels, g0 + Winograd.ROW_STRIPS * MR);
                    // each position's strip of transformed input, then every row strip on it
                    for (int t = 0; t < Winograd.POSITIONS; t++) {
                        long strip = stripAt(t * tileStrips + s, c);
                        for (int h0 = g0, g = 0; h0 < g1; h0 += MR, g++) {
                            kernel(c, first, (t * weightRows + h0) * c, v, strip, buf.sums,
                                    (t * Winograd.ROW_STRIPS + g) * MR * NR);
                        }
                    }
                    for (int h0 = g0, g = 0; h0 < g1; h0 += MR, g++) {
                        int hiddenRows = Math.min(MR, hiddenChannels - h0);
                        Winograd.transformOutput(buf.sums, g * tile, positionStep, hiddenRows,
                                buf.outputs);
                        for (int q = 0; q < 4; q++) {
                            Pointwise.tileBiasActivate(buf.outputs, q * tile, buf.outputs,
                                    q * tile, row, hiddenRows, b1, h0, act);
                        }
                        if (second != null) {
                            Winograd.storeHidden(buf.outputs, hiddenRows, s * NR, slots, rows,
                                    hidden, hiddenChannels, h0);
                            continue;
                        }
                        for (int part = 0; part < NR; part += L) {
                            int slot = s * NR + part;
                            int ty = slot / slots;
                            if (ty >= rows) {
                                break;
                            }
                            int column = 2 * (slot % slots);
                            for (int py = 0; py < 2; py++) {
                                int oy = 2 * (ty0 + ty) + py;
                                long to = (((long) n * hiddenChannels + h0) * outPlane
                                        + (long) oy * win.outW + column) * Float.BYTES;
                                Winograd.storeInterleaved(buf.outputs,
                                        2 * py * tile + (long) part * Float.BYTES, tile, row,
                                        hiddenRows, y, to, outPlane * Float.BYTES,
                                        Math.min(NR, win.outW - column), residual);
                            }
                        }
                    }
                }
            }
            if (second == null) {
                return;
            }
            for (int o0 = 0; o0 < o; o0 += MR) {
                int outRows = Math.min(MR, o - o0);
                for (int j = 0; j < pixelStrips; j++) {
                    kernel(hiddenChannels, second, o0 * hiddenChannels, hidden,
                            stripAt(j, hiddenChannels), buf.tile, 0);
                    Pointwise.tileBiasActivate(buf.tile, 0, buf.tile, 0, row, outRows, b2, o0,
                            act2);
                    int oy = 2 * ty0 + j / groups;
                    int column = 2 * L * (j % groups);
                    long to = (((long) n * o + o0) * outPlane + (long) oy * win.outW + column)
                            * Float.BYTES;
                    Winograd.storeInterleaved(buf.tile, 0, (long) L * Float.BYTES, row,
                            outRows, y, to, outPlane * Float.BYTES,
                            Math.min(NR, win.outW - column), residual);
                }
            }
        });
    }

    /**
     * W ({@code [o, c, 3, 3]}) as {@link Winograd#weights}, kept for a constant weight as
     * {@link #packed} keeps its strips ({@link #keptOrMade}).
     */
    private float[] winogradWeights(MemorySegment w, Object constant, int o, int c) {
        return keptOrMade(winogradConstants, w, constant,
                Math.toIntExact((long) Winograd.POSITIONS * Winograd.paddedRows(o) * c),
                () -> "[" + o + ", " + c + ", 3, 3]", firstWeights,
                into -> Winograd.weights(w, o, c, into));
    }

    private float[] packed(MemorySegment w, Object constant, int rows, int k) {
        return packed(w, constant, rows, k, firstWeights);
    }

    /**
     * W ([rows, k], row-major) packed into strips of MR rows (see {@link #packWeights}): for
     * a constant weight, the strips kept under {@code constant}, made on first use; for any
     * other weight (constant null), or once the kept strips have reached their share of the
     * heap, packed anew into the calling thread's buffer {@code slot}. Repacking costs a pass
     * over the weights per call, about a sixth of the kernel's time on 4×4 images.
     */
    private float[] packed(MemorySegment w, Object constant, int rows, int k,
            ThreadLocal<float[]> slot) {
        return keptOrMade(packedConstants, w, constant, (rows + MR - 1) / MR * MR * k,
                () -> "[" + rows + ", " + k + "]", slot, into -> packWeights(w, rows, k, into));
    }

    /**
     * A weight's packed form of {@code length} floats, made by {@code make}: for a constant
     * weight, the one kept in {@code kept} under {@code constant}, made on first use; for any
     * other weight (constant null), or once the kept forms have reached their share of the
     * heap, made anew into the calling thread's buffer {@code slot} (which may be longer).
     * {@code shape} names the weight when it was closed.
     */
    private float[] keptOrMade(Map<Object, float[]> kept, MemorySegment w, Object constant,
            int length, Supplier<String> shape, ThreadLocal<float[]> slot,
            Consumer<float[]> make) {
        if (constant != null) {
            float[] strips = kept.get(constant);
            if (strips != null && !w.scope().isAlive()) {
                // the strips would outlive the weight: a closed weight is refused as it is
                // when packed from its memory, and its strips give their heap share back
                kept.remove(constant);
                throw new IllegalStateException("convolution weight " + shape.get()
                        + " was closed");
            }
            if (strips != null && strips.length == length) {
                return strips;
            }
            if (withinShare(length)) {
                // two callers may both pack a new weight: the same strips, one of them kept
                strips = new float[length];
                make.accept(strips);
                kept.put(constant, strips);
                return strips;
            }
        }
        float[] buffer = slot.get();
        if (buffer.length < length) {
            buffer = new float[length];
            slot.set(buffer);
        }
        make.accept(buffer);
        return buffer;
    }

    /**
     * {@code y = x · Wᵀ} for a few rows: x {@code [rows, k]}, W {@code [outs, k]} (a 1×1
     * convolution's weight as stored) and y {@code [rows, outs]}, all row-major; the
     * squeeze-excite gate's two products, whose rows are a batch's pooled images. The same
     * register tile as the convolutions with the roles turned round: x's rows packed as the
     * tile's {@link #MR} rows, W's rows as its {@link #NR} columns, transposed once into
     * strips {@code [k][NR]} and kept for a constant weight (constant null: none, transposed
     * on every call). Each output is one worker's sum, in the same order whatever the number
     * of threads.
     */
    void rowProducts(MemorySegment x, int rows, int k, MemorySegment w, Object constant,
            int outs, MemorySegment y) {
        if (rows == 0 || outs == 0) {
            // an empty batch's gate: nothing to write (and no strip to size the chunks by)
            return;
        }
        int rowStrips = (rows + MR - 1) / MR;
        int outStrips = (outs + NR - 1) / NR;
        // x's rows packed on the calling thread
        float[] xRows = new float[Math.toIntExact((long) rowStrips * MR * k)];
        for (int strip = 0; strip < rowStrips; strip++) {
            packWeightStrip(x, rows, k, xRows, strip);
        }
        MemorySegment columns = columnStrips(w, constant, outs, k);
        // column strips in chunks, each strip's weights read once for every row strip; the
        // squeeze-excite gates' products are one chunk, on the calling thread
        long stripMacs = (long) rowStrips * MR * NR * Math.max(1, k);
        long grain = Math.max(1, ROW_PRODUCT_CHUNK / stripMacs);
        workers.forChunks(outStrips, grain, (s0, s1) -> {
            MemorySegment tile = buffers.get().tile;
            for (int s = (int) s0; s < s1; s++) {
                int j0 = s * NR;
                int width = Math.min(NR, outs - j0);
                for (int r0 = 0; r0 < rows; r0 += MR) {
                    kernel(k, xRows, r0 * k, columns, stripAt(s, k), tile, 0);
                    for (int r = 0; r < Math.min(MR, rows - r0); r++) {
                        MemorySegment.copy(tile, (long) r * NR * Float.BYTES, y,
                                ((long) (r0 + r) * outs + j0) * Float.BYTES,
                                (long) width * Float.BYTES);
                    }
                }
            }
        });
    }

    /**
     * Multiply-adds per chunk of {@link #rowProducts}' column strips. Large enough that a
     * squeeze-excite gate's products (up to 25 × 1536 × 64) are not split: shared between two
     * workers, inside EfficientNetV2-S the two together ran 1.2–1.6× slower than on the
     * calling thread.
     */
    private static final long ROW_PRODUCT_CHUNK = 1 << 22;

    /**
     * W ({@code [outs, k]}) transposed into strips of NR rows, each laid out {@code [k][NR]}
     * and zero past the last row, off the heap as the kernel's pixel strips are: kept for a
     * constant weight within the packed weights' heap share, else made for the call.
     */
    private MemorySegment columnStrips(MemorySegment w, Object constant, int outs, int k) {
        long floats = (long) (outs + NR - 1) / NR * NR * k;
        if (constant != null) {
            MemorySegment kept = columnConstants.get(constant);
            if (kept != null && !w.scope().isAlive()) {
                columnConstants.remove(constant);
                throw new IllegalStateException("weight [" + outs + ", " + k + "] was closed");
            }
            if (kept != null && kept.byteSize() == floats * Float.BYTES) {
                return kept;
            }
        }
        float[] strips = transposedStrips(w, outs, k);
        MemorySegment columns = Arena.ofAuto().allocate(floats * Float.BYTES, 64);
        MemorySegment.copy(strips, 0, columns, F32, 0, strips.length);
        if (constant != null && withinShare(floats)) {
            columnConstants.put(constant, columns);
        }
        return columns;
    }

    /**
     * W ({@code [outs, k]}) transposed into strips of NR rows, each laid out {@code [k][NR]}
     * and zero past the last row, on the heap: the weights of {@link InvertedResiduals}'
     * products, which put outputs across the vector. Kept for a constant weight within the
     * packed weights' heap share, apart from that weight's other packed forms.
     */
    HeapStrips outputStrips(MemorySegment w, Object constant, int outs, int k) {
        int floats = Math.toIntExact((long) (outs + NR - 1) / NR * NR * k);
        if (constant != null) {
            HeapStrips kept = outputConstants.get(constant);
            if (kept != null && !w.scope().isAlive()) {
                outputConstants.remove(constant);
                throw new IllegalStateException("weight [" + outs + ", " + k + "] was closed");
            }
            if (kept != null && kept.length == floats) {
                return kept;
            }
        }
        HeapStrips strips = new HeapStrips(floats);
        transposeInto(w, outs, k, strips.floats, strips.first());
        if (constant != null && withinShare(strips.floats.length)) {
            outputConstants.put(constant, strips);
        }
        return strips;
    }

    /**
     * Packed weights on the heap, kept where the vectors read from them start on a cache line
     * ({@link CacheLines}): {@code length} floats of {@link #floats} from the index that
     * {@link #acquire} returns. The collector moves a young array at each collection it
     * survives, and an old one in a compacting collection; {@code acquire} then moves the
     * floats within the array onto a line again, where no other call is reading them. Within
     * the array, not into a new one: a new array is young and moves again (in EfficientNetV2-S
     * forwards that never settled, and grew the heap by 250 MiB).
     */
    static final class HeapStrips {

        final float[] floats;
        final int length;
        private volatile int first;
        /** Read by each call that uses the floats; written by a move onto a line. */
        private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

        /** Room for {@code length} floats from index {@link #first()}, on a line. */
        HeapStrips(int length) {
            this.length = length;
            floats = new float[length + CacheLines.LINE_FLOATS - 1];
            first = CacheLines.firstOnLine(floats);
        }

        /**
         * Takes the floats for reading, first moving them onto a line where the collector has
         * moved the array and no other call is reading them; returns the index of the first.
         * Every call must be followed by {@link #release}.
         */
        int acquire() {
            int line = CacheLines.firstOnLine(floats);
            if (line != first) {
                moveTo(line);
            }
            lock.readLock().lock();
            return first;
        }

        /**
         * Moves the floats to start at index {@code to} (0 to 15) unless a call is reading
         * them; returns whether it did.
         */
        boolean moveTo(int to) {
            if (to < 0 || to >= CacheLines.LINE_FLOATS) {
                throw new IllegalArgumentException("first float at " + to + ", not 0 to 15");
            }
            if (!lock.writeLock().tryLock()) {
                return false;
            }
            try {
                System.arraycopy(floats, first, floats, to, length);
                first = to;
                return true;
            } finally {
                lock.writeLock().unlock();
            }
        }

        /**
         * The index of the first float now: where to write them once made; calls that read
         * them take the index from {@link #acquire}, which a move cannot change under them.
         */
        int first() {
            return first;
        }

        /** Ends the reading that {@link #acquire} began. */
        void release() {
            lock.readLock().unlock();
        }
    }

    private static float[] transposedStrips(MemorySegment w, int outs, int k) {
        float[] strips = new float[Math.toIntExact((long) (outs + NR - 1) / NR * NR * k)];
        transposeInto(w, outs, k, strips, 0);
        return strips;
    }

    /** {@link #transposedStrips} written into {@code into} from index {@code at}. */
    private static void transposeInto(MemorySegment w, int outs, int k, float[] into, int at) {
        float[] rows = new float[Math.multiplyExact(outs, k)];
        MemorySegment.copy(w, F32, 0, rows, 0, rows.length);
        for (int j = 0; j < outs; j++) {
            int base = at + j / NR * NR * k + j % NR;
            for (int p = 0; p < k; p++) {
                into[base + p * NR] = rows[j * k + p];
            }
        }
    }

    /** How many constant weights have their packed strips kept. */
    int keptWeights() {
        return packedConstants.size() + outputConstants.size() + winogradConstants.size();
    }

    /** Whether {@code floats} more packed floats stay within the heap share. */
    private boolean withinShare(long floats) {
        long kept = floats;
        synchronized (packedConstants) {
            for (float[] strips : packedConstants.values()) {
                kept += strips.length;
            }
        }
        synchronized (columnConstants) {
            for (MemorySegment strips : columnConstants.values()) {
                kept += strips.byteSize() / Float.BYTES;
            }
        }
        synchronized (winogradConstants) {
            for (float[] strips : winogradConstants.values()) {
                kept += strips.length;
            }
        }
        synchronized (outputConstants) {
            for (HeapStrips strips : outputConstants.values()) {
                kept += strips.floats.length;
            }
        }
        return kept * Float.BYTES <= Runtime.getRuntime().maxMemory() / PACKED_HEAP_SHARE;
    }

    /**
     * W ([rows, k], row-major) packed into strips of MR rows, each laid out {@code [k][MR]},
     * into {@code into}; a last partial strip repeats the last row. Packed in parallel, and
     * read by every block: the kernel runs about a tenth faster on packed weights than on
     * rows read in place.
     */
    private void packWeights(MemorySegment w, int rows, int k, float[] into) {
        workers.forEach((rows + MR - 1) / MR, strip -> packWeightStrip(w, rows, k, into, strip));
    }

    /** Strip {@code strip} of {@link #packWeights}. */
    private void packWeightStrip(MemorySegment w, int rows, int k, float[] into, int strip) {
        // the strip's rows copied to the heap in one go first: reads from there need no
        // bounds check each, and the strip is then written in order
        int first = strip * MR;
        int count = Math.min(MR, rows - first);
        float[] from = buffers.get().weightRows(MR * k);
        MemorySegment.copy(w, F32, (long) first * k * Float.BYTES, from, 0, count * k);
        int base = strip * MR * k;
        int last = count - 1;
        int r0 = 0;
        int r1 = Math.min(1, last) * k;
        int r2 = Math.min(2, last) * k;
        int r3 = Math.min(3, last) * k;
        int r4 = Math.min(4, last) * k;
        int r5 = Math.min(5, last) * k;
        for (int p = 0, d = base; p < k; p++, d += MR) {
            into[d] = from[r0 + p];
            into[d + 1] = from[r1 + p];
            into[d + 2] = from[r2 + p];
            into[d + 3] = from[r3 + p];
            into[d + 4] = from[r4 + p];
            into[d + 5] = from[r5 + p];
        }
    }

    /**
     * Pixels per block: a multiple of {@link #NR} whose packed rows fit {@link #BLOCK_FLOATS},
     * narrowed until there are {@link #MIN_BLOCKS} blocks where the pixels allow it. Chosen
     * by the shape alone.
     */
    static int blockWidth(long pixels, int rows) {
        return blockWidth(pixels, rows, BLOCK_FLOATS, MIN_BLOCKS);
    }

    /** {@link #blockWidth} for blocks of at most {@code blockFloats} and at least so many. */
    static int blockWidth(long pixels, int rows, int blockFloats, int minBlocks) {
        int width = Math.max(NR,
                Math.min(MAX_BLOCK_PIXELS, blockFloats / Math.max(1, rows) / NR * NR));
        while (width > NR && (pixels + width - 1) / width < minBlocks) {
            width = Math.max(NR, width / 2 / NR * NR);
        }
        return width;
    }

    /**
     * Packs pixels [p0, p0 + count) of every channel into strips of NR pixels, each laid out
     * {@code [C][NR]}; pixels past the end are zero. The pixels of a strip may come from two
     * or more images when the planes are small.
     *
     * <p>Channel by channel across the block's strips, not strip by strip: within one image
     * a channel's pixels of the whole block are then read in one pass, a stream the
     * prefetcher follows, where strip by strip made every strip C streams of NR floats, a
     * plane apart. This matters where the input has left the core's caches and each pixel
     * feeds few outputs: EfficientNetV2-S's projection {@code [5, 192, 56, 56]} → 48 ran
     * 3.0–3.3 ms a call in the network against 2.3–2.4.
     *
     * <p>With a {@code norm} (null for none) each run of a strip's pixels within one image is
     * normalized across channels as it is packed ({@link Reductions#normalizeRun}): the
     * statistics need all of a pixel's channels before any of its values is written.
     */
    private static void pack(Images in, MemorySegment x, MemorySegment gate, ChannelNorm norm,
            long p0, int count, MemorySegment packed) {
        int strips = (count + NR - 1) / NR;
        // the block's runs: pixels of one strip within one image
        int most = strips * (NR / (int) Math.min(NR, Math.max(1, in.plane)) + 2);
        long[] runFrom = new long[most];
        int[] runTo = new int[most];
        int[] runLength = new int[most];
        int[] runImage = new int[most];
        int runs = 0;
        for (int s = 0; s < strips; s++) {
            long q = p0 + (long) s * NR;
            int width = (int) Math.min(NR, p0 + count - q);
            int filled = 0;
            while (filled < width) {
                long pixel = q + filled;
                int image = (int) (pixel / in.plane);
                long at = pixel - image * in.plane;
                int run = (int) Math.min(width - filled, in.plane - at);
                runFrom[runs] = ((long) image * in.c * in.plane + at) * Float.BYTES;
                runTo[runs] = s * in.c * NR + filled;
                runLength[runs] = run;
                runImage[runs] = image;
                runs++;
                filled += run;
            }
            if (width < NR) {
                for (int k = 0; k < in.c; k++) {
                    zeroRun(packed, (long) (s * in.c * NR + k * NR + width) * Float.BYTES,
                            NR - width);
                }
            }
        }
        long step = in.plane * Float.BYTES;
        if (norm != null) {
            for (int r = 0; r < runs; r++) {
                Reductions.normalizeRun(x, runFrom[r], step, in.c, runLength[r], norm.gamma(),
                        norm.beta(), norm.eps(), packed, (long) runTo[r] * Float.BYTES,
                        STRIP_STEP);
            }
            return;
        }
        for (int k = 0; k < in.c; k++) {
            for (int r = 0; r < runs; r++) {
                long from = runFrom[r] + k * step;
                long to = (long) (runTo[r] + k * NR) * Float.BYTES;
                int run = runLength[r];
                if (run == NR && gate == null) {
                    FloatVector.fromMemorySegment(S, x, from, LE)
                            .intoMemorySegment(packed, to, LE);
                    FloatVector.fromMemorySegment(S, x, from + (long) L * Float.BYTES, LE)
                            .intoMemorySegment(packed, to + (long) L * Float.BYTES, LE);
                    continue;
                }
                float factor = gate == null ? 1f
                        : gate.getAtIndex(F32, (long) runImage[r] * in.c + k);
                int i = 0;
                // whole vectors unmasked: a 4 × 4 plane is one, an 8 × 8 plane's run two
                for (; i + L <= run; i += L) {
                    long o = (long) i * Float.BYTES;
                    FloatVector.fromMemorySegment(S, x, from + o, LE).mul(factor)
                            .intoMemorySegment(packed, to + o, LE);
                }
                if (i < run) {
                    VectorMask<Float> lanes = S.indexInRange(i, run);
                    long o = (long) i * Float.BYTES;
                    FloatVector.fromMemorySegment(S, x, from + o, LE, lanes).mul(factor)
                            .intoMemorySegment(packed, to + o, LE, lanes);
                }
            }
        }
    }

    /**
     * {@code tile[t + r·NR + (0..NR)] = Σ_p A[p][r] · B[p][0..NR)} for r < MR: A one packed
     * weight strip, B a packed strip of pixels whose row p starts {@code bAt + p · STRIP_STEP}
     * bytes into {@code b}. With the step a constant, C2 checks the strip's bounds once before
     * the loop instead of on every read, and four terms a pass share the loop's counting and
     * addressing, which C2 neither unrolls nor hoists for a body this long (the channel MLP
     * ran 3–15 % faster on one core of an AVX-512 Xeon, 4–7 % on two, than one term a pass).
     * Each sum takes the same terms in the same order whatever the pass.
     */
    private static void kernel(int k, float[] a, int aOff, MemorySegment b, long bAt,
            MemorySegment tile, int t) {
        // sums over chunks of K_CHUNK terms, then the chunks' sums: a long sum (a 3×3
        // convolution over a thousand channels) would otherwise grow an error with every term
        FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S);
        FloatVector s10 = FloatVector.zero(S), s11 = FloatVector.zero(S);
        FloatVector s20 = FloatVector.zero(S), s21 = FloatVector.zero(S);
        FloatVector s30 = FloatVector.zero(S), s31 = FloatVector.zero(S);
        FloatVector s40 = FloatVector.zero(S), s41 = FloatVector.zero(S);
        FloatVector s50 = FloatVector.zero(S), s51 = FloatVector.zero(S);
        int ai = aOff;
        long half = (long) L * Float.BYTES;
        for (int p0 = 0; p0 < k; p0 += K_CHUNK) {
            int p1 = Math.min(k, p0 + K_CHUNK);
            FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
            FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
            FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
            FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
            FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
            FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
            // four terms per pass, in order (the same sums as one at a time): the pass's
            // counting and addressing, which C2 neither unrolls nor hoists, spread over four
            int p = p0;
            for (; p + 4 <= p1; p += 4, ai += 4 * MR) {
                long bi = bAt + (long) p * STRIP_STEP;
                FloatVector b0 = FloatVector.fromMemorySegment(S, b, bi, LE);
                FloatVector b1 = FloatVector.fromMemorySegment(S, b, bi + half, LE);
                FloatVector a0 = FloatVector.broadcast(S, a[ai]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                FloatVector a1 = FloatVector.broadcast(S, a[ai + 1]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                FloatVector a2 = FloatVector.broadcast(S, a[ai + 2]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                FloatVector a3 = FloatVector.broadcast(S, a[ai + 3]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                FloatVector a4 = FloatVector.broadcast(S, a[ai + 4]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                FloatVector a5 = FloatVector.broadcast(S, a[ai + 5]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
                b0 = FloatVector.fromMemorySegment(S, b, bi + 1 * STRIP_STEP, LE);
                b1 = FloatVector.fromMemorySegment(S, b, bi + 1 * STRIP_STEP + half, LE);
                a0 = FloatVector.broadcast(S, a[ai + 6]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                a1 = FloatVector.broadcast(S, a[ai + 7]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                a2 = FloatVector.broadcast(S, a[ai + 8]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                a3 = FloatVector.broadcast(S, a[ai + 9]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                a4 = FloatVector.broadcast(S, a[ai + 10]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                a5 = FloatVector.broadcast(S, a[ai + 11]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
                b0 = FloatVector.fromMemorySegment(S, b, bi + 2 * STRIP_STEP, LE);
                b1 = FloatVector.fromMemorySegment(S, b, bi + 2 * STRIP_STEP + half, LE);
                a0 = FloatVector.broadcast(S, a[ai + 12]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                a1 = FloatVector.broadcast(S, a[ai + 13]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                a2 = FloatVector.broadcast(S, a[ai + 14]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                a3 = FloatVector.broadcast(S, a[ai + 15]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                a4 = FloatVector.broadcast(S, a[ai + 16]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                a5 = FloatVector.broadcast(S, a[ai + 17]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
                b0 = FloatVector.fromMemorySegment(S, b, bi + 3 * STRIP_STEP, LE);
                b1 = FloatVector.fromMemorySegment(S, b, bi + 3 * STRIP_STEP + half, LE);
                a0 = FloatVector.broadcast(S, a[ai + 18]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                a1 = FloatVector.broadcast(S, a[ai + 19]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                a2 = FloatVector.broadcast(S, a[ai + 20]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                a3 = FloatVector.broadcast(S, a[ai + 21]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                a4 = FloatVector.broadcast(S, a[ai + 22]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                a5 = FloatVector.broadcast(S, a[ai + 23]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
            }
            for (; p < p1; p++, ai += MR) {
                long bi = bAt + (long) p * STRIP_STEP;
                FloatVector b0 = FloatVector.fromMemorySegment(S, b, bi, LE);
                FloatVector b1 = FloatVector.fromMemorySegment(S, b, bi + half, LE);
                FloatVector a0 = FloatVector.broadcast(S, a[ai]);
                c00 = a0.fma(b0, c00);
                c01 = a0.fma(b1, c01);
                FloatVector a1 = FloatVector.broadcast(S, a[ai + 1]);
                c10 = a1.fma(b0, c10);
                c11 = a1.fma(b1, c11);
                FloatVector a2 = FloatVector.broadcast(S, a[ai + 2]);
                c20 = a2.fma(b0, c20);
                c21 = a2.fma(b1, c21);
                FloatVector a3 = FloatVector.broadcast(S, a[ai + 3]);
                c30 = a3.fma(b0, c30);
                c31 = a3.fma(b1, c31);
                FloatVector a4 = FloatVector.broadcast(S, a[ai + 4]);
                c40 = a4.fma(b0, c40);
                c41 = a4.fma(b1, c41);
                FloatVector a5 = FloatVector.broadcast(S, a[ai + 5]);
                c50 = a5.fma(b0, c50);
                c51 = a5.fma(b1, c51);
            }
            s00 = s00.add(c00);
            s01 = s01.add(c01);
            s10 = s10.add(c10);
            s11 = s11.add(c11);
            s20 = s20.add(c20);
            s21 = s21.add(c21);
            s30 = s30.add(c30);
            s31 = s31.add(c31);
            s40 = s40.add(c40);
            s41 = s41.add(c41);
            s50 = s50.add(c50);
            s51 = s51.add(c51);
        }
        // out through an array: the callers' epilogues are too long to inline here, and
        // vectors passed to a method that is not inlined are boxed
        s00.intoMemorySegment(tile, (long) (t) * Float.BYTES, LE);
        s01.intoMemorySegment(tile, (long) (t + L) * Float.BYTES, LE);
        s10.intoMemorySegment(tile, (long) (t + NR) * Float.BYTES, LE);
        s11.intoMemorySegment(tile, (long) (t + NR + L) * Float.BYTES, LE);
        s20.intoMemorySegment(tile, (long) (t + 2 * NR) * Float.BYTES, LE);
        s21.intoMemorySegment(tile, (long) (t + 2 * NR + L) * Float.BYTES, LE);
        s30.intoMemorySegment(tile, (long) (t + 3 * NR) * Float.BYTES, LE);
        s31.intoMemorySegment(tile, (long) (t + 3 * NR + L) * Float.BYTES, LE);
        s40.intoMemorySegment(tile, (long) (t + 4 * NR) * Float.BYTES, LE);
        s41.intoMemorySegment(tile, (long) (t + 4 * NR + L) * Float.BYTES, LE);
        s50.intoMemorySegment(tile, (long) (t + 5 * NR) * Float.BYTES, LE);
        s51.intoMemorySegment(tile, (long) (t + 5 * NR + L) * Float.BYTES, LE);
    }

    /**
     * Rows [o0, o0 + rows) of the tile, pixels [q, q + width), to NCHW y ([N, O, plane]) as
     * {@code act(tile + bias) + residual}, residual (the shape of y) null for none.
     */
    private static void storeActivated(MemorySegment tile, int o0, int rows, MemorySegment y,
            int o, long plane, long q, int width, MemorySegment bias, Activation act,
            MemorySegment residual) {
        long first = q / plane;
        long firstAt = q - first * plane;
        if (width == NR && firstAt + NR <= plane) {
            // the strip lies within one image: each row goes to y as it is activated
            long at = ((first * o + o0) * plane + firstAt) * Float.BYTES;
            long stride = plane * Float.BYTES;
            Pointwise.tileBiasActivate(tile, 0, y, at, stride, rows, bias, o0, act);
            if (residual != null) {
                for (int r = 0; r < rows; r++) {
                    long row = at + r * stride;
                    addVector(y, row, residual);
                    addVector(y, row + (long) L * Float.BYTES, residual);
                }
            }
            return;
        }
        // activated in place first, the whole tile at once: on small planes a row's run
        // within one image is a few pixels, and a call per run cost more than the activation
        Pointwise.tileBiasActivate(tile, 0, tile, 0, (long) NR * Float.BYTES, rows, bias, o0,
                act);
        int done = 0;
        while (done < width) {
            long pixel = q + done;
            long image = pixel / plane;
            long at = pixel - image * plane;
            int run = (int) Math.min(width - done, plane - at);
            for (int r = 0; r < rows; r++) {
                storeRun(tile, ((long) r * NR + done) * Float.BYTES, y,
                        ((image * o + o0 + r) * plane + at) * Float.BYTES, run, residual);
            }
            done += run;
        }
    }

    /**
     * {@code run} floats of the tile from byte {@code from} to y at byte {@code to}, plus
     * residual's at the same place (null for none): whole vectors unmasked, the rest masked.
     */
    private static void storeRun(MemorySegment tile, long from, MemorySegment y, long to,
            int run, MemorySegment residual) {
        int i = 0;
        for (; i + L <= run; i += L) {
            long step = (long) i * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(S, tile, from + step, LE);
            if (residual != null) {
                v = v.add(FloatVector.fromMemorySegment(S, residual, to + step, LE));
            }
            v.intoMemorySegment(y, to + step, LE);
        }
        if (i < run) {
            VectorMask<Float> lanes = S.indexInRange(i, run);
            long step = (long) i * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(S, tile, from + step, LE, lanes);
            if (residual != null) {
                v = v.add(FloatVector.fromMemorySegment(S, residual, to + step, LE, lanes));
            }
            v.intoMemorySegment(y, to + step, LE, lanes);
        }
    }

    /** {@code y[at .. at + L) += residual[at .. at + L)}, offsets in bytes. */
    private static void addVector(MemorySegment y, long at, MemorySegment residual) {
        FloatVector.fromMemorySegment(S, y, at, LE)
                .add(FloatVector.fromMemorySegment(S, residual, at, LE))
                .intoMemorySegment(y, at, LE);
    }

    /**
     * Rows [o0, o0 + rows) of the tile, pixels [q, q + width), to NCHW y as
     * {@code residual + scale · (tile + bias)}, each term optional, in that order.
     */
    private static void storeScaledResidual(MemorySegment tile, int o0, int rows, MemorySegment y,
            int o, long plane, long q, int width, MemorySegment bias, MemorySegment scale,
            MemorySegment residual) {
        int done = 0;
        while (done < width) {
            long pixel = q + done;
            long image = pixel / plane;
            long at = pixel - image * plane;
            int run = (int) Math.min(width - done, plane - at);
            for (int r = 0; r < rows; r++) {
                float b = bias == null ? 0f : bias.getAtIndex(F32, o0 + r);
                float s = scale == null ? 1f : scale.getAtIndex(F32, o0 + r);
                long to = ((image * o + o0 + r) * plane + at) * Float.BYTES;
                long from = (long) (r * NR + done) * Float.BYTES;
                int i = 0;
                // whole vectors unmasked, as storeRun: a masked store is microcoded on AMD's
                // cores (ConvNeXt's channel MLPs spent 7 % of a forward here on Zen 3)
                for (; i + L <= run; i += L) {
                    long step = (long) i * Float.BYTES;
                    FloatVector v = FloatVector.fromMemorySegment(S, tile, from + step, LE)
                            .add(b);
                    if (scale != null) {
                        v = v.mul(s);
                    }
                    if (residual != null) {
                        v = v.add(FloatVector.fromMemorySegment(S, residual, to + step, LE));
                    }
                    v.intoMemorySegment(y, to + step, LE);
                }
                if (i < run) {
                    VectorMask<Float> lanes = S.indexInRange(i, run);
                    long step = (long) i * Float.BYTES;
                    FloatVector v = FloatVector.fromMemorySegment(S, tile, from + step, LE,
                            lanes).add(b);
                    if (scale != null) {
                        v = v.mul(s);
                    }
                    if (residual != null) {
                        v = v.add(FloatVector.fromMemorySegment(S, residual, to + step, LE,
                                lanes));
                    }
                    v.intoMemorySegment(y, to + step, LE, lanes);
                }
            }
            done += run;
        }
    }
}
