package dev.lumbar.engine.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels that reduce: layer norms (two passes: mean, then the mean of squared deviations, so
 * no cancellation), pooling and softmax. Vector lanes hold float partial sums of at most a few
 * hundred terms each; the lanes are combined in double. Offsets are in bytes.
 */
final class Reductions {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    private Reductions() {
    }

    /**
     * Sum of {@code x − shift} over {@code count} contiguous floats. Callers shift by one of
     * the values so that a large common offset does not swamp the float partial sums.
     */
    static double shiftedSum(MemorySegment x, long offset, long count, float shift) {
        FloatVector acc = FloatVector.zero(S);
        double total = 0;
        long i = 0;
        // restart the float partials every 64 vectors so none sums more than 64 terms
        while (i + L <= count) {
            long blockEnd = Math.min(count - count % L, i + 64L * L);
            for (; i < blockEnd; i += L) {
                acc = acc.add(FloatVector.fromMemorySegment(S, x, offset + i * Float.BYTES, LE)
                        .sub(shift));
            }
            total += reduce(acc);
            acc = FloatVector.zero(S);
        }
        for (; i < count; i++) {
            total += x.get(F32, offset + i * Float.BYTES) - shift;
        }
        return total;
    }

    /** The largest plane {@link #sixteenMeans} takes, in vectors. */
    private static final int SIXTEEN_MEANS_MAX_VECTORS = 16;
    /** Where {@link #sixteenMeans} puts row j of its transpose: after the 256 sums. */
    private static final int[] TRANSPOSED_ROWS = new int[16];

    static {
        for (int j = 0; j < 16; j++) {
            TRANSPOSED_ROWS[j] = 256 + 16 * j;
        }
    }

    /**
     * Whether {@link #sixteenMeans} takes planes of {@code plane} floats here: 16-float vectors,
     * and a plane of at most {@link #SIXTEEN_MEANS_MAX_VECTORS} of them, the last one partial
     * (7×7 and 14×14 as well as 4×4 and 8×8).
     */
    static boolean takesSixteenMeans(long plane) {
        return Transposes.LANES == 16 && plane > 0 && plane <= SIXTEEN_MEANS_MAX_VECTORS * 16;
    }

    /**
     * The means of planes [first, first + count) of x, of {@code plane} floats each, to the
     * same indexes of y: each whole group of 16 planes that starts at a multiple of 16 and lies
     * below the last such group of all {@code total} planes by {@link #sixteenMeans} (where
     * {@link #takesSixteenMeans} holds), every other plane by {@link #shiftedSum} in double.
     * So a plane's mean does not depend on how the planes are shared out, as long as the
     * shares start at multiples of 16. {@code scratch} holds at least 512 floats.
     */
    static void planeMeans(MemorySegment x, long first, long count, long plane, long total,
            MemorySegment y, float[] scratch) {
        long grouped = takesSixteenMeans(plane) ? total - total % 16 : 0;
        long end = first + count;
        for (long p = first; p < end; ) {
            if (p % 16 == 0 && p + 16 <= Math.min(grouped, end)) {
                sixteenMeans(x, p * plane, (int) plane, y, p, scratch);
                p += 16;
            } else {
                // (not empty planes: their means are 0 / 0, NaN, from here)
                double sum = shiftedSum(x, p * plane * Float.BYTES, plane, 0f);
                y.setAtIndex(F32, p, (float) (sum / plane));
                p++;
            }
        }
    }

    /**
     * The means of 16 consecutive planes of {@code plane} floats each (at most
     * {@link #SIXTEEN_MEANS_MAX_VECTORS} vectors, the last one partial or whole), the first at
     * float {@code first} of x, to 16 consecutive floats of y from float {@code to};
     * {@code scratch} holds at least 512 floats. Only where {@link #takesSixteenMeans} holds.
     *
     * <p>Why: reducing one small plane's vector across its lanes costs more than summing the
     * plane (a 4×4 plane is one vector, and a squeeze-excite gate pools hundreds of them).
     * Here each plane's vectors are summed into one, the 16 sums are transposed, and adding
     * the transposed rows gives all 16 totals at once. The sums are in float, each of a plane's
     * lanes summed over its vectors (a partial last vector read with its lanes past the plane
     * as zero), then the 16 lane sums in order.
     */
    static void sixteenMeans(MemorySegment x, long first, int plane, MemorySegment y, long to,
            float[] scratch) {
        int[] rows = TRANSPOSED_ROWS;
        // LIMITATION: the 16 lane sums are added in float, where the plane-by-plane loop adds
        // them in double: a plane whose sum passes Float.MAX_VALUE (values above about 2e37)
        // has an infinite mean, and a mean can differ in its last bits from the one the same
        // plane gets past the last whole group of 16 (N·C not a multiple of 16).
        int whole = plane - plane % 16;
        VectorMask<Float> tail = Transposes.S16.indexInRange(whole, plane);
        for (int i = 0; i < 16; i++) {
            long at = (first + (long) i * plane) * Float.BYTES;
            FloatVector acc = whole == 0 ? FloatVector.zero(Transposes.S16)
                    : FloatVector.fromMemorySegment(Transposes.S16, x, at, LE);
            for (int v = 16; v < whole; v += 16) {
                acc = acc.add(FloatVector.fromMemorySegment(Transposes.S16, x,
                        at + (long) v * Float.BYTES, LE));
            }
            if (whole < plane) {
                // a masked read stops at the plane's end, even at the tensor's last plane
                acc = acc.add(FloatVector.fromMemorySegment(Transposes.S16, x,
                        at + (long) whole * Float.BYTES, LE, tail));
            }
            acc.intoArray(scratch, i * 16);
        }
        // row j of the transpose: lane j of every plane's sum
        Transposes.transpose16(scratch, 0, 16, scratch, rows);
        FloatVector total = FloatVector.fromArray(Transposes.S16, scratch, rows[0]);
        for (int j = 1; j < 16; j++) {
            total = total.add(FloatVector.fromArray(Transposes.S16, scratch, rows[j]));
        }
        total.div((float) plane).intoMemorySegment(y, to * Float.BYTES, LE);
    }

    /** Sum of {@code ((x − shift) − mean)²} over {@code count} contiguous floats. */
    static double squaredDeviations(MemorySegment x, long offset, long count, float shift,
            float mean) {
        FloatVector acc = FloatVector.zero(S);
        double total = 0;
        long i = 0;
        while (i + L <= count) {
            long blockEnd = Math.min(count - count % L, i + 64L * L);
            for (; i < blockEnd; i += L) {
                FloatVector d = FloatVector.fromMemorySegment(S, x, offset + i * Float.BYTES, LE)
                        .sub(shift).sub(mean);
                acc = d.fma(d, acc);
            }
            total += reduce(acc);
            acc = FloatVector.zero(S);
        }
        for (; i < count; i++) {
            double d = (x.get(F32, offset + i * Float.BYTES) - shift) - mean;
            total += d * d;
        }
        return total;
    }

    private static double reduce(FloatVector v) {
        double total = 0;
        for (int lane = 0; lane < L; lane++) {
            total += v.lane(lane);
        }
        return total;
    }

    /** Maximum of {@code count} contiguous floats ({@code -inf} for none, NaN if any is NaN). */
    static float max(MemorySegment x, long offset, long count) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        long i = 0;
        for (long bound = count - count % L; i < bound; i += L) {
            acc = acc.max(FloatVector.fromMemorySegment(S, x, offset + i * Float.BYTES, LE));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < count; i++) {
            m = Math.max(m, x.get(F32, offset + i * Float.BYTES));
        }
        return m;
    }

    /**
     * {@code y = ((x − shift) − mean) · rstd · gamma + beta} over one row of {@code width}
     * floats, where {@code shift + mean} is the row's mean.
     */
    static void normalizeRow(MemorySegment x, long xOffset, MemorySegment y, long yOffset,
            int width, float shift, float mean, float rstd, MemorySegment gamma,
            MemorySegment beta) {
        int i = 0;
        for (; i < width; i += L) {
            VectorMask<Float> lanes = S.indexInRange(i, width);
            long o = (long) i * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(S, x, xOffset + o, LE, lanes);
            FloatVector g = FloatVector.fromMemorySegment(S, gamma, o, LE, lanes);
            FloatVector b = FloatVector.fromMemorySegment(S, beta, o, LE, lanes);
            v.sub(shift).sub(mean).mul(rstd).fma(g, b)
                    .intoMemorySegment(y, yOffset + o, LE, lanes);
        }
    }

    /** Pixels of a plane that {@link #normalizeChannelsFour} takes at a time. */
    static final int FOUR_VECTORS = 4 * L;

    /**
     * {@link #normalizeChannels} for the pixels [p0, p0 + 4·L) of each plane, all inside it:
     * each channel's four vectors are adjacent, so every pass reads runs of 4·L floats
     * rather than one vector from each of C planes, which the prefetcher follows poorly. Each
     * pixel gets the same operations in the same order, so the same bits.
     */
    static void normalizeChannelsFour(MemorySegment x, MemorySegment y, long image,
            int channels, long plane, long p0, float[] gamma, float[] beta, float eps) {
        long base = (image * channels * plane + p0) * Float.BYTES;
        long step = plane * Float.BYTES;
        long v1 = (long) L * Float.BYTES;
        long v2 = 2 * v1;
        long v3 = 3 * v1;

        // mean over channels, of the deviations from channel 0
        FloatVector s0 = FloatVector.fromMemorySegment(S, x, base, LE);
        FloatVector s1 = FloatVector.fromMemorySegment(S, x, base + v1, LE);
        FloatVector s2 = FloatVector.fromMemorySegment(S, x, base + v2, LE);
        FloatVector s3 = FloatVector.fromMemorySegment(S, x, base + v3, LE);
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 1; c < channels; c++) {
            long at = base + c * step;
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, at, LE).sub(s0));
            a1 = a1.add(FloatVector.fromMemorySegment(S, x, at + v1, LE).sub(s1));
            a2 = a2.add(FloatVector.fromMemorySegment(S, x, at + v2, LE).sub(s2));
            a3 = a3.add(FloatVector.fromMemorySegment(S, x, at + v3, LE).sub(s3));
        }
        FloatVector m0 = a0.div(channels), m1 = a1.div(channels);
        FloatVector m2 = a2.div(channels), m3 = a3.div(channels);

        // variance as the mean squared deviation
        FloatVector q0 = FloatVector.zero(S), q1 = q0, q2 = q0, q3 = q0;
        for (int c = 0; c < channels; c++) {
            long at = base + c * step;
            FloatVector d0 = FloatVector.fromMemorySegment(S, x, at, LE).sub(s0).sub(m0);
            FloatVector d1 = FloatVector.fromMemorySegment(S, x, at + v1, LE).sub(s1).sub(m1);
            FloatVector d2 = FloatVector.fromMemorySegment(S, x, at + v2, LE).sub(s2).sub(m2);
            FloatVector d3 = FloatVector.fromMemorySegment(S, x, at + v3, LE).sub(s3).sub(m3);
            q0 = d0.fma(d0, q0);
            q1 = d1.fma(d1, q1);
            q2 = d2.fma(d2, q2);
            q3 = d3.fma(d3, q3);
        }
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector r0 = one.div(q0.div(channels).add(eps).sqrt());
        FloatVector r1 = one.div(q1.div(channels).add(eps).sqrt());
        FloatVector r2 = one.div(q2.div(channels).add(eps).sqrt());
        FloatVector r3 = one.div(q3.div(channels).add(eps).sqrt());

        for (int c = 0; c < channels; c++) {
            long at = base + c * step;
            float g = gamma[c];
            float b = beta[c];
            FloatVector.fromMemorySegment(S, x, at, LE).sub(s0).sub(m0).mul(r0).mul(g).add(b)
                    .intoMemorySegment(y, at, LE);
            FloatVector.fromMemorySegment(S, x, at + v1, LE).sub(s1).sub(m1).mul(r1).mul(g)
                    .add(b).intoMemorySegment(y, at + v1, LE);
            FloatVector.fromMemorySegment(S, x, at + v2, LE).sub(s2).sub(m2).mul(r2).mul(g)
                    .add(b).intoMemorySegment(y, at + v2, LE);
            FloatVector.fromMemorySegment(S, x, at + v3, LE).sub(s3).sub(m3).mul(r3).mul(g)
                    .add(b).intoMemorySegment(y, at + v3, LE);
        }
    }

    /**
     * LayerNorm across channels of a run of {@code run} pixels of one image, at most two
     * vectors: x's channel 0 from byte {@code from}, the others a plane ({@code step} bytes)
     * apart; channel c written {@code c · rowStep} bytes after byte {@code to} of out (a
     * product's packed strip, which reads the normalized pixels straight from there). Each
     * pixel gets the operations of {@link #normalizeVector} in the same order, so the same
     * bits as a {@code layerNormChannels} call.
     */
    // Two whole vectors unmasked, anything shorter a vector at a time, masked: with two masked
    // vectors the method grew past what the compiler inlines, and the masked loads it left
    // as calls made a ConvNeXt forward about 1.5 times as slow
    static void normalizeRun(MemorySegment x, long from, long step, int channels, int run,
            float[] gamma, float[] beta, float eps, MemorySegment out, long to, long rowStep) {
        long v1 = (long) L * Float.BYTES;
        if (run < 2 * L) {
            normalizeVector(x, from, step, channels, Math.min(L, run), gamma, beta, eps, out,
                    to, rowStep);
            if (run > L) {
                normalizeVector(x, from + v1, step, channels, run - L, gamma, beta, eps, out,
                        to + v1, rowStep);
            }
            return;
        }

        // mean over channels, of the deviations from channel 0
        FloatVector s0 = FloatVector.fromMemorySegment(S, x, from, LE);
        FloatVector s1 = FloatVector.fromMemorySegment(S, x, from + v1, LE);
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        for (int c = 1; c < channels; c++) {
            long at = from + c * step;
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, at, LE).sub(s0));
            a1 = a1.add(FloatVector.fromMemorySegment(S, x, at + v1, LE).sub(s1));
        }
        FloatVector m0 = a0.div(channels);
        FloatVector m1 = a1.div(channels);

        // variance as the mean squared deviation
        FloatVector q0 = FloatVector.zero(S);
        FloatVector q1 = q0;
        for (int c = 0; c < channels; c++) {
            long at = from + c * step;
            FloatVector d0 = FloatVector.fromMemorySegment(S, x, at, LE).sub(s0).sub(m0);
            FloatVector d1 = FloatVector.fromMemorySegment(S, x, at + v1, LE).sub(s1).sub(m1);
            q0 = d0.fma(d0, q0);
            q1 = d1.fma(d1, q1);
        }
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector r0 = one.div(q0.div(channels).add(eps).sqrt());
        FloatVector r1 = one.div(q1.div(channels).add(eps).sqrt());

        for (int c = 0; c < channels; c++) {
            long at = from + c * step;
            long row = to + c * rowStep;
            float g = gamma[c];
            float b = beta[c];
            FloatVector.fromMemorySegment(S, x, at, LE).sub(s0).sub(m0).mul(r0).mul(g).add(b)
                    .intoMemorySegment(out, row, LE);
            FloatVector.fromMemorySegment(S, x, at + v1, LE).sub(s1).sub(m1).mul(r1).mul(g)
                    .add(b).intoMemorySegment(out, row + v1, LE);
        }
    }

    /**
     * LayerNorm across the {@code channels} planes of one image, for the pixels
     * [p0, p0 + L) of each plane (masked at the plane's end).
     */
    static void normalizeChannels(MemorySegment x, MemorySegment y, long image, int channels,
            long plane, long p0, float[] gamma, float[] beta, float eps) {
        long base = (image * channels * plane + p0) * Float.BYTES;
        long step = plane * Float.BYTES;
        normalizeVector(x, base, step, channels, (int) Math.min(L, plane - p0), gamma, beta,
                eps, y, base, step);
    }

    /**
     * LayerNorm across channels of {@code count} pixels (at most one vector) from byte
     * {@code from} of x, channels {@code step} bytes apart, into out from byte {@code to},
     * channels {@code rowStep} bytes apart.
     */
    private static void normalizeVector(MemorySegment x, long from, long step, int channels,
            int count, float[] gamma, float[] beta, float eps, MemorySegment out, long to,
            long rowStep) {
        VectorMask<Float> lanes = S.indexInRange(0, count);

        // mean over channels, of the deviations from channel 0 (an offset common to all
        // channels would otherwise cost the float sums their low digits)
        FloatVector shift = FloatVector.fromMemorySegment(S, x, from, LE, lanes);
        FloatVector sum = FloatVector.zero(S);
        for (int c = 1; c < channels; c++) {
            sum = sum.add(FloatVector.fromMemorySegment(S, x, from + c * step, LE, lanes)
                    .sub(shift));
        }
        FloatVector mean = sum.div(channels);

        // variance as the mean squared deviation
        FloatVector squares = FloatVector.zero(S);
        for (int c = 0; c < channels; c++) {
            FloatVector d = FloatVector.fromMemorySegment(S, x, from + c * step, LE, lanes)
                    .sub(shift).sub(mean);
            squares = d.fma(d, squares);
        }
        FloatVector rstd = squares.div(channels).add(eps).sqrt();
        rstd = FloatVector.broadcast(S, 1f).div(rstd);

        for (int c = 0; c < channels; c++) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, from + c * step, LE, lanes);
            v.sub(shift).sub(mean).mul(rstd).mul(gamma[c]).add(beta[c])
                    .intoMemorySegment(out, to + c * rowStep, LE, lanes);
        }
    }
}
