package dev.lumbar.engine.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The transforms of Winograd's minimal filtering F(2×2, 3×3) for a dense 3×3 convolution of
 * stride 1: each 2 × 2 tile of outputs is
 * {@code Aᵀ [Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)] A},
 * where d_c is the tile's 4 × 4 window of input channel c and g_c the kernel of that
 * channel. The sum over channels is, for each of the 16 positions of the 4 × 4 transformed
 * tile, a matrix product {@code U_ξ [O, C] × V_ξ [C, tiles]}; the engine's register tile
 * runs those. Where the direct convolution takes 9 multiply-adds per output and input
 * channel, this takes 4, plus transforms of the input (per input channel and tile) and of
 * the sums (per output channel and tile), which cost additions only.
 *
 * <p>The sums are not those of the direct convolution: the transforms add and subtract
 * inputs before they are multiplied, so a result differs from it by a few units in the last
 * place of the inputs' magnitude (about 1e-7 relative for the backbones' activations). Each
 * output is still computed by one fixed sequence of operations, so the bits do not depend on
 * the number of threads or on the batch.
 *
 * <p>Layouts. The tiles of one image are laid out row by row of tiles, each row of tiles
 * padded to {@link #slots} slots (whole vectors); a vector of input or sums holds L
 * consecutive tiles of one row. Transformed inputs are {@code [16][strips][C][NR]}, strips of
 * NR slots as {@link PixelProducts}' kernel reads them; transformed weights are
 * {@code [16][O'][C]} in strips of MR rows as that kernel reads its weights (O' is O rounded
 * up to MR, the extra rows zero).
 */
// LIMITATION: an infinity in the input comes out as NaN where the output transform subtracts
// two infinities (a direct convolution gives an infinity there), and inputs of magnitude
// beyond about 3e37 can overflow in the input transform, which adds up to four of them,
// where the direct sums stay finite. A NaN reaches the outputs a direct convolution's NaN
// reaches.
// LIMITATION: a band never splits a row of tiles, so each worker's transformed input grows
// to 16 · slots · C floats for the widest rows it has seen (46 MB for 700 channels over a
// 2048-wide plane) and is kept for its next calls.
final class Winograd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int MR = PixelProducts.MR;
    private static final int NR = PixelProducts.NR;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /** Positions of a transformed 4 × 4 tile. */
    static final int POSITIONS = 16;

    /**
     * Strips of MR weight rows whose products run together over one strip of transformed
     * input, each position's strip of input read once from L2 for all of them. On
     * EfficientNetV2-S's fused blocks ({@code [5, 48, 56, 56]} → 192 → 48,
     * {@code [5, 64, 28, 28]} → 256 → 64, {@code [25, 48, 32, 32]} → 192 → 48) 3–4.5 %
     * faster than one at a time, 1–4 % faster than two, level with eight.
     */
    static final int ROW_STRIPS = 4;

    /** Lanes 0, 1, … of two vectors interleaved: a0 b0 a1 b1 …, the first half of them. */
    private static final VectorShuffle<Float> INTERLEAVE_LOW =
            VectorShuffle.fromOp(S, i -> i % 2 == 0 ? i / 2 : L + i / 2);
    /** The second half of {@link #INTERLEAVE_LOW}'s interleaving. */
    private static final VectorShuffle<Float> INTERLEAVE_HIGH =
            VectorShuffle.fromOp(S, i -> i % 2 == 0 ? L / 2 + i / 2 : L + L / 2 + i / 2);

    /**
     * Fewer input channels than this take the direct convolution: each product's sums are
     * then too short for the register tile's start and end, and the transforms cost more
     * than the multiply-adds they save. EfficientNetV2-S's 24 → 24 over 112 × 112 (its first
     * stage, two a forward at {@code [5, 3, 224, 224]}) ran 8.0–9.0 ms a forward direct
     * against 11.7–15.4 this way; its 48 → 192 and 64 → 256 run 19–28 % faster this way.
     */
    static final int MIN_CHANNELS = 32;

    /**
     * Fewer output channels than this take the direct convolution: each strip's transformed
     * input then serves too few weight rows to pay for its transform. {@code [1, 64, 56, 56]}
     * took 1.9×, 1.6–1.8× and 1.3× the direct path's time for 1, 6 and 12 outputs, and was
     * level at 24.
     */
    static final int MIN_OUTPUTS = ROW_STRIPS * MR;

    /**
     * Slots of tiles a band of {@link #bandRows} aims at: two strips where L is 16 (twice as
     * many ran no faster).
     */
    private static final int BAND_SLOTS = 4 * L;

    private Winograd() {
    }

    /**
     * Whether a convolution of {@code channels} input and {@code outputs} output channels with
     * this window runs here: 3×3, stride 1, an even number of output rows and columns (whole
     * 2 × 2 tiles), rows of tiles that fill their vectors to at least seven eighths (the
     * padding slots cost as much as real tiles), at least {@link #MIN_CHANNELS} input and
     * {@link #MIN_OUTPUTS} output channels. Chosen by the shape alone, so that a convolution
     * and the same convolution fused with its projection take the same sums.
     */
    static boolean fits(PixelProducts.Window win, int channels, int outputs) {
        if (channels < MIN_CHANNELS || outputs < MIN_OUTPUTS || win.kh() != 3 || win.kw() != 3
                || win.strideH() != 1 || win.strideW() != 1 || win.outH() < 2
                || win.outW() < 2 || win.outH() % 2 != 0 || win.outW() % 2 != 0) {
            return false;
        }
        int tiles = win.outW() / 2;
        return 8L * (slots(win) - tiles) <= slots(win);
    }

    /** Slots per row of tiles: the row's tiles rounded up to whole vectors. */
    static int slots(PixelProducts.Window win) {
        int tiles = win.outW() / 2;
        return (tiles + L - 1) / L * L;
    }

    /** Rows of tiles per band, one band a task: about {@link #BAND_SLOTS} slots. */
    static int bandRows(PixelProducts.Window win) {
        return Math.max(1, Math.min(win.outH() / 2, BAND_SLOTS / slots(win)));
    }

    /** Weight rows per position: O rounded up to whole strips of MR rows. */
    static int paddedRows(int o) {
        return (o + MR - 1) / MR * MR;
    }

    /**
     * The transformed weights {@code G g Gᵀ} of W ({@code [o, c, 3, 3]}), laid out
     * {@code [16][O'][c]} in strips of MR rows ({@code [c][MR]} each), for the kernel, into
     * the first {@code 16·O'·c} floats of {@code into}; the rows past o are zero. Computed in
     * double and rounded once.
     */
    static void weights(MemorySegment w, int o, int c, float[] into) {
        int rows = paddedRows(o);
        java.util.Arrays.fill(into, 0, Math.toIntExact((long) POSITIONS * rows * c), 0f);
        float[] g = new float[9];
        double[] gg = new double[12];
        for (int out = 0; out < o; out++) {
            int strip = out / MR * MR;
            int r = out % MR;
            for (int in = 0; in < c; in++) {
                MemorySegment.copy(w, F32, ((long) out * c + in) * 9 * Float.BYTES, g, 0, 9);
                // G g: rows g0, (g0 + g1 + g2) / 2, (g0 − g1 + g2) / 2, g2 of the kernel
                for (int x = 0; x < 3; x++) {
                    double g0 = g[x];
                    double g1 = g[3 + x];
                    double g2 = g[6 + x];
                    gg[x] = g0;
                    gg[3 + x] = (g0 + g1 + g2) / 2;
                    gg[6 + x] = (g0 - g1 + g2) / 2;
                    gg[9 + x] = g2;
                }
                // (G g) Gᵀ: the same along each row
                for (int i = 0; i < 4; i++) {
                    double a0 = gg[3 * i];
                    double a1 = gg[3 * i + 1];
                    double a2 = gg[3 * i + 2];
                    double[] u = {a0, (a0 + a1 + a2) / 2, (a0 - a1 + a2) / 2, a2};
                    for (int j = 0; j < 4; j++) {
                        int position = 4 * i + j;
                        into[(position * rows + strip) * c + in * MR + r] = (float) u[j];
                    }
                }
            }
        }
    }

    /**
     * Input rows [iyFirst, iyFirst + rows) of image n, every channel, split into their even
     * and odd columns of the zero-padded row (column 0 the first column of the first tile's
     * window, {@code padLeft} left of the image): row r of channel c becomes the even columns
     * at {@code phases[(c·rows + r)·2·phasePitch]} and the odd ones at the next
     * {@code phasePitch} floats, zero outside the image. Tile tx's window then starts at index
     * tx of either half, so a vector of L tiles is read with plain loads.
     */
    static void splitPhases(PixelProducts.Images in, PixelProducts.Window win, MemorySegment x,
            int n, int iyFirst, int rows, MemorySegment phases, int phasePitch) {
        long half = (long) L * Float.BYTES;
        long rowFloats = 2L * phasePitch;
        for (int ch = 0; ch < in.c(); ch++) {
            long plane = ((long) n * in.c() + ch) * in.plane();
            for (int r = 0; r < rows; r++) {
                int iy = iyFirst + r;
                long even = ((long) ch * rows + r) * rowFloats * Float.BYTES;
                long odd = even + (long) phasePitch * Float.BYTES;
                if (iy < 0 || iy >= win.h()) {
                    phases.asSlice(even, rowFloats * Float.BYTES).fill((byte) 0);
                    continue;
                }
                long row = plane + (long) iy * win.w();
                for (int k = 0; k < phasePitch; k += L) {
                    // columns first .. first + 2L of the image row
                    int first = 2 * k - win.padLeft();
                    long at = (row + first) * Float.BYTES;
                    FloatVector a;
                    FloatVector b;
                    if (first >= 0 && first + 2 * L <= win.w()) {
                        a = FloatVector.fromMemorySegment(S, x, at, LE);
                        b = FloatVector.fromMemorySegment(S, x, at + half, LE);
                    } else {
                        a = FloatVector.fromMemorySegment(S, x, at, LE,
                                S.indexInRange(first, win.w()));
                        b = FloatVector.fromMemorySegment(S, x, at + half, LE,
                                S.indexInRange(first + L, win.w()));
                    }
                    a.rearrange(Convolutions.EVEN_LANES, b).intoMemorySegment(phases,
                            even + (long) k * Float.BYTES, LE);
                    a.rearrange(Convolutions.ODD_LANES, b).intoMemorySegment(phases,
                            odd + (long) k * Float.BYTES, LE);
                }
            }
        }
    }

    /**
     * {@code Bᵀ d B} of every tile of a band, from its input rows split by
     * {@link #splitPhases} ({@code rows} rows per input channel): tile (ty, tx) of the band
     * reads rows 2ty .. 2ty + 3 and, in each, columns 2tx .. 2tx + 3. Written to {@code v}
     * ({@code [16][strips][c][NR]}) for {@code tileRows} rows of {@code slots} slots. Slots
     * past a row's last tile read whatever lies past it; their sums are dropped.
     */
    static void transformInput(MemorySegment phases, int c, int rows, int phasePitch,
            int tileRows, int slots, int strips, MemorySegment v) {
        long rowStep = 2L * phasePitch * Float.BYTES;
        long odd = (long) phasePitch * Float.BYTES;
        long next = Float.BYTES;
        long positionStep = (long) strips * c * NR * Float.BYTES;
        for (int ch = 0; ch < c; ch++) {
            for (int ty = 0; ty < tileRows; ty++) {
                for (int tx = 0; tx < slots; tx += L) {
                    int slot = ty * slots + tx;
                    long to = (((long) slot / NR * c + ch) * NR + slot % NR) * Float.BYTES;
                    long from = (((long) ch * rows + 2 * ty) * 2 * phasePitch + tx)
                            * Float.BYTES;
                    // row i of the windows, columns 2tx + j: even, odd, even + 1, odd + 1
                    FloatVector d00 = FloatVector.fromMemorySegment(S, phases, from, LE);
                    FloatVector d01 = FloatVector.fromMemorySegment(S, phases, from + odd, LE);
                    FloatVector d02 = FloatVector.fromMemorySegment(S, phases, from + next, LE);
                    FloatVector d03 =
                            FloatVector.fromMemorySegment(S, phases, from + odd + next, LE);
                    from += rowStep;
                    FloatVector d10 = FloatVector.fromMemorySegment(S, phases, from, LE);
                    FloatVector d11 = FloatVector.fromMemorySegment(S, phases, from + odd, LE);
                    FloatVector d12 = FloatVector.fromMemorySegment(S, phases, from + next, LE);
                    FloatVector d13 =
                            FloatVector.fromMemorySegment(S, phases, from + odd + next, LE);
                    from += rowStep;
                    FloatVector d20 = FloatVector.fromMemorySegment(S, phases, from, LE);
                    FloatVector d21 = FloatVector.fromMemorySegment(S, phases, from + odd, LE);
                    FloatVector d22 = FloatVector.fromMemorySegment(S, phases, from + next, LE);
                    FloatVector d23 =
                            FloatVector.fromMemorySegment(S, phases, from + odd + next, LE);
                    from += rowStep;
                    FloatVector d30 = FloatVector.fromMemorySegment(S, phases, from, LE);
                    FloatVector d31 = FloatVector.fromMemorySegment(S, phases, from + odd, LE);
                    FloatVector d32 = FloatVector.fromMemorySegment(S, phases, from + next, LE);
                    FloatVector d33 =
                            FloatVector.fromMemorySegment(S, phases, from + odd + next, LE);
                    // Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3
                    FloatVector t00 = d00.sub(d20);
                    FloatVector t01 = d01.sub(d21);
                    FloatVector t02 = d02.sub(d22);
                    FloatVector t03 = d03.sub(d23);
                    FloatVector t10 = d10.add(d20);
                    FloatVector t11 = d11.add(d21);
                    FloatVector t12 = d12.add(d22);
                    FloatVector t13 = d13.add(d23);
                    FloatVector t20 = d20.sub(d10);
                    FloatVector t21 = d21.sub(d11);
                    FloatVector t22 = d22.sub(d12);
                    FloatVector t23 = d23.sub(d13);
                    FloatVector t30 = d10.sub(d30);
                    FloatVector t31 = d11.sub(d31);
                    FloatVector t32 = d12.sub(d32);
                    FloatVector t33 = d13.sub(d33);
                    // (Bᵀ d) B: the same along each row; position 4i + j
                    long at = to;
                    t00.sub(t02).intoMemorySegment(v, at, LE);
                    t01.add(t02).intoMemorySegment(v, at += positionStep, LE);
                    t02.sub(t01).intoMemorySegment(v, at += positionStep, LE);
                    t01.sub(t03).intoMemorySegment(v, at += positionStep, LE);
                    t10.sub(t12).intoMemorySegment(v, at += positionStep, LE);
                    t11.add(t12).intoMemorySegment(v, at += positionStep, LE);
                    t12.sub(t11).intoMemorySegment(v, at += positionStep, LE);
                    t11.sub(t13).intoMemorySegment(v, at += positionStep, LE);
                    t20.sub(t22).intoMemorySegment(v, at += positionStep, LE);
                    t21.add(t22).intoMemorySegment(v, at += positionStep, LE);
                    t22.sub(t21).intoMemorySegment(v, at += positionStep, LE);
                    t21.sub(t23).intoMemorySegment(v, at += positionStep, LE);
                    t30.sub(t32).intoMemorySegment(v, at += positionStep, LE);
                    t31.add(t32).intoMemorySegment(v, at += positionStep, LE);
                    t32.sub(t31).intoMemorySegment(v, at += positionStep, LE);
                    t31.sub(t33).intoMemorySegment(v, at + positionStep, LE);
                }
            }
        }
    }

    /**
     * {@code Aᵀ m A} of a strip's sums: {@code sums} holds, for each of the 16 positions, a
     * register tile of {@code rows} (at most MR) rows of NR slots, the first from byte
     * {@code from}, each next position {@code positionStep} bytes after the last; written to
     * {@code outputs} as 4 such tiles ({@code [4][MR][NR]}), output (py, px) of each 2 × 2
     * tile in tile {@code 2py + px}.
     */
    static void transformOutput(MemorySegment sums, long from, long positionStep, int rows,
            MemorySegment outputs) {
        long tile = positionStep;
        long out = (long) MR * NR * Float.BYTES;
        for (int r = 0; r < rows; r++) {
            for (int part = 0; part < NR; part += L) {
                long to = ((long) r * NR + part) * Float.BYTES;
                long at = from + to;
                FloatVector m00 = FloatVector.fromMemorySegment(S, sums, at, LE);
                FloatVector m01 = FloatVector.fromMemorySegment(S, sums, at + tile, LE);
                FloatVector m02 = FloatVector.fromMemorySegment(S, sums, at + 2 * tile, LE);
                FloatVector m03 = FloatVector.fromMemorySegment(S, sums, at + 3 * tile, LE);
                FloatVector m10 = FloatVector.fromMemorySegment(S, sums, at + 4 * tile, LE);
                FloatVector m11 = FloatVector.fromMemorySegment(S, sums, at + 5 * tile, LE);
                FloatVector m12 = FloatVector.fromMemorySegment(S, sums, at + 6 * tile, LE);
                FloatVector m13 = FloatVector.fromMemorySegment(S, sums, at + 7 * tile, LE);
                FloatVector m20 = FloatVector.fromMemorySegment(S, sums, at + 8 * tile, LE);
                FloatVector m21 = FloatVector.fromMemorySegment(S, sums, at + 9 * tile, LE);
                FloatVector m22 = FloatVector.fromMemorySegment(S, sums, at + 10 * tile, LE);
                FloatVector m23 = FloatVector.fromMemorySegment(S, sums, at + 11 * tile, LE);
                FloatVector m30 = FloatVector.fromMemorySegment(S, sums, at + 12 * tile, LE);
                FloatVector m31 = FloatVector.fromMemorySegment(S, sums, at + 13 * tile, LE);
                FloatVector m32 = FloatVector.fromMemorySegment(S, sums, at + 14 * tile, LE);
                FloatVector m33 = FloatVector.fromMemorySegment(S, sums, at + 15 * tile, LE);
                // Aᵀ m: rows m0 + m1 + m2 and m1 − m2 − m3
                FloatVector s00 = m00.add(m10).add(m20);
                FloatVector s01 = m01.add(m11).add(m21);
                FloatVector s02 = m02.add(m12).add(m22);
                FloatVector s03 = m03.add(m13).add(m23);
                FloatVector s10 = m10.sub(m20).sub(m30);
                FloatVector s11 = m11.sub(m21).sub(m31);
                FloatVector s12 = m12.sub(m22).sub(m32);
                FloatVector s13 = m13.sub(m23).sub(m33);
                // (Aᵀ m) A: the same along each row
                s00.add(s01).add(s02).intoMemorySegment(outputs, to, LE);
                s01.sub(s02).sub(s03).intoMemorySegment(outputs, to + out, LE);
                s10.add(s11).add(s12).intoMemorySegment(outputs, to + 2 * out, LE);
                s11.sub(s12).sub(s13).intoMemorySegment(outputs, to + 3 * out, LE);
            }
        }
    }

    /**
     * The activated outputs of one strip of tiles ({@code outputs}, as
     * {@link #transformOutput} writes them) into the band's hidden layer, rows h0 .. h0 + rows
     * of packed pixel strips {@code [strips][channels][NR]}. Slot s of the strip is slot
     * {@code first + s} of the band. The band's pixels are ordered for whole vectors: pixel
     * strip {@code (2ty + py)·groups + g} holds output row 2ty + py of the tiles of vector g
     * of tile row ty ({@code groups = slots / L}), their left outputs (px = 0) in its first L
     * lanes and their right outputs in the next L.
     */
    static void storeHidden(MemorySegment outputs, int rows, int first, int slots,
            int tileRows, MemorySegment hidden, int channels, int h0) {
        long tile = (long) MR * NR * Float.BYTES;
        long half = (long) L * Float.BYTES;
        int groups = slots / L;
        for (int part = 0; part < NR; part += L) {
            int slot = first + part;
            int ty = slot / slots;
            if (ty >= tileRows) {
                return;
            }
            int g = slot % slots / L;
            for (int py = 0; py < 2; py++) {
                long strip = (long) (2 * ty + py) * groups + g;
                for (int r = 0; r < rows; r++) {
                    long at = ((long) r * NR + part) * Float.BYTES + 2 * py * tile;
                    long to = ((strip * channels + h0 + r) * NR) * Float.BYTES;
                    FloatVector.fromMemorySegment(S, outputs, at, LE)
                            .intoMemorySegment(hidden, to, LE);
                    FloatVector.fromMemorySegment(S, outputs, at + tile, LE)
                            .intoMemorySegment(hidden, to + half, LE);
                }
            }
        }
    }

    /**
     * Activated outputs in tile order to y: for each of {@code rows} rows (output channels
     * o0 ..), L left outputs (px = 0) of consecutive tiles at {@code from} and their right
     * outputs {@code px} bytes after them, a row {@code rowStep} bytes after the last,
     * interleaved into 2L consecutive pixels of one output row of y at byte {@code to} (each
     * channel {@code plane} bytes after the last), of which the first {@code width} are
     * stored, plus residual's at the same place (null for none).
     */
    static void storeInterleaved(MemorySegment from, long at, long px, long rowStep, int rows,
            MemorySegment y, long to, long plane, int width, MemorySegment residual) {
        long half = (long) L * Float.BYTES;
        VectorMask<Float> low = S.indexInRange(0, width);
        VectorMask<Float> high = S.indexInRange(L, width);
        boolean whole = width == 2 * L;
        for (int r = 0; r < rows; r++, at += rowStep, to += plane) {
            FloatVector left = FloatVector.fromMemorySegment(S, from, at, LE);
            FloatVector right = FloatVector.fromMemorySegment(S, from, at + px, LE);
            FloatVector a = left.rearrange(INTERLEAVE_LOW, right);
            FloatVector b = left.rearrange(INTERLEAVE_HIGH, right);
            if (whole) {
                if (residual != null) {
                    a = a.add(FloatVector.fromMemorySegment(S, residual, to, LE));
                    b = b.add(FloatVector.fromMemorySegment(S, residual, to + half, LE));
                }
                a.intoMemorySegment(y, to, LE);
                b.intoMemorySegment(y, to + half, LE);
            } else {
                if (residual != null) {
                    a = a.add(FloatVector.fromMemorySegment(S, residual, to, LE, low));
                    b = b.add(FloatVector.fromMemorySegment(S, residual, to + half, LE, high));
                }
                a.intoMemorySegment(y, to, LE, low);
                b.intoMemorySegment(y, to + half, LE, high);
            }
        }
    }
}
