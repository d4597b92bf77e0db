package dev.lumbar.engine.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Square transposes of floats in registers, for moving planes into and out of the
 * channel-blocked layout (a vector of channels per pixel) without gathers: 16 × 16 about 2.4
 * times faster than one gather per row on AVX-512. {@link #transpose} is {@link #LANES}
 * square, usable where the preferred vectors hold 16 floats (AVX-512) or 8 (AVX2);
 * {@link #transpose16} and {@link #transpose8} are the two squares themselves (on narrower
 * vectors than their own, the Vector API runs them in Java: slow, but the same result).
 *
 * <p>One stage per bit of a lane's index; stage b swaps bit b of the row index with bit b of
 * the column index, each new row drawn from a pair of old rows that differ in that bit: a
 * two-vector select with 16 lanes, a one-vector rearrange and a blend with 8. AVX2 has no
 * two-vector permute: there C2 turned each select into two permutes and a blend behind a
 * conversion and range checks of its float indexes, with most rows spilled; the 8 × 8
 * transpose took 38 ns that way on one Zen 3 core, 22 this way (the same result).
 */
final class Transposes {

    /** Floats in a preferred vector: the side of {@link #transpose}'s square. */
    static final int LANES = FloatVector.SPECIES_PREFERRED.length();
    static final VectorSpecies<Float> S16 = FloatVector.SPECIES_512;
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;

    /** Stage b with 16 lanes: lane sources of the new row whose bit b is 0, and of its partner. */
    private static final FloatVector LOW16_0 = low(S16, 1);
    private static final FloatVector HIGH16_0 = high(S16, 1);
    private static final FloatVector LOW16_1 = low(S16, 2);
    private static final FloatVector HIGH16_1 = high(S16, 2);
    private static final FloatVector LOW16_2 = low(S16, 4);
    private static final FloatVector HIGH16_2 = high(S16, 4);
    private static final FloatVector LOW16_3 = low(S16, 8);
    private static final FloatVector HIGH16_3 = high(S16, 8);
    /**
     * Stage b with 8 lanes: the lanes whose index has bit b set; the partner's lanes moved
     * down by b onto them, and the row's own lanes moved up by b onto those with it clear.
     */
    private static final VectorMask<Float> SET8_0 = bitSet(1);
    private static final VectorMask<Float> SET8_1 = bitSet(2);
    private static final VectorMask<Float> SET8_2 = bitSet(4);
    private static final VectorShuffle<Float> UP8_0 = moved(1, -1);
    private static final VectorShuffle<Float> UP8_1 = moved(2, -2);
    private static final VectorShuffle<Float> UP8_2 = moved(4, -4);
    private static final VectorShuffle<Float> DOWN8_0 = moved(1, 1);
    private static final VectorShuffle<Float> DOWN8_1 = moved(2, 2);
    private static final VectorShuffle<Float> DOWN8_2 = moved(4, 4);

    private Transposes() {
    }

    /**
     * The new row whose index has {@code bit} clear: lane j is the old row's lane j where j
     * has the bit clear, else the partner's (index {@code lanes + …}) lane j − bit.
     */
    private static FloatVector low(VectorSpecies<Float> species, int bit) {
        float[] sources = new float[species.length()];
        for (int j = 0; j < sources.length; j++) {
            sources[j] = (j & bit) == 0 ? j : sources.length + j - bit;
        }
        return FloatVector.fromArray(species, sources, 0);
    }

    /** Its partner, with the bit set: the old row's lane j + bit, or the partner's lane j. */
    private static FloatVector high(VectorSpecies<Float> species, int bit) {
        float[] sources = new float[species.length()];
        for (int j = 0; j < sources.length; j++) {
            sources[j] = (j & bit) == 0 ? j + bit : sources.length + j;
        }
        return FloatVector.fromArray(species, sources, 0);
    }

    private static VectorMask<Float> bitSet(int bit) {
        boolean[] set = new boolean[S8.length()];
        for (int j = 0; j < set.length; j++) {
            set[j] = (j & bit) != 0;
        }
        return VectorMask.fromArray(S8, set, 0);
    }

    /**
     * Lane j takes lane j + by where j has {@code bit} set (by < 0) or clear (by > 0), else
     * its own.
     */
    private static VectorShuffle<Float> moved(int bit, int by) {
        int[] sources = new int[S8.length()];
        for (int j = 0; j < sources.length; j++) {
            sources[j] = ((j & bit) != 0) == (by < 0) ? j + by : j;
        }
        return VectorShuffle.fromArray(S8, sources, 0);
    }

    /** Whether the preferred vectors hold 16 or 8 floats, as {@link #transpose} needs. */
    static boolean available() {
        return LANES == 16 || LANES == 8;
    }

    /**
     * Row i of the {@link #LANES}-square result, {@code src[srcOffset + j · srcStride + i]}
     * for j in [0, LANES), is written at {@code dst[dstOffsets[i]]}. Only where
     * {@link #available}.
     */
    static void transpose(float[] src, int srcOffset, int srcStride, float[] dst,
            int[] dstOffsets) {
        if (LANES == 16) {
            transpose16(src, srcOffset, srcStride, dst, dstOffsets);
        } else {
            transpose8(src, srcOffset, srcStride, dst, dstOffsets);
        }
    }

    /**
     * Row i of the result, {@code src[srcOffset + j · srcStride + i]} for j in [0, 16), is
     * written at {@code dst[dstOffsets[i]]}.
     */
    static void transpose16(float[] src, int srcOffset, int srcStride, float[] dst,
            int[] dstOffsets) {
        FloatVector r0 = FloatVector.fromArray(S16, src, srcOffset);
        FloatVector r1 = FloatVector.fromArray(S16, src, srcOffset + 1 * srcStride);
        FloatVector r2 = FloatVector.fromArray(S16, src, srcOffset + 2 * srcStride);
        FloatVector r3 = FloatVector.fromArray(S16, src, srcOffset + 3 * srcStride);
        FloatVector r4 = FloatVector.fromArray(S16, src, srcOffset + 4 * srcStride);
        FloatVector r5 = FloatVector.fromArray(S16, src, srcOffset + 5 * srcStride);
        FloatVector r6 = FloatVector.fromArray(S16, src, srcOffset + 6 * srcStride);
        FloatVector r7 = FloatVector.fromArray(S16, src, srcOffset + 7 * srcStride);
        FloatVector r8 = FloatVector.fromArray(S16, src, srcOffset + 8 * srcStride);
        FloatVector r9 = FloatVector.fromArray(S16, src, srcOffset + 9 * srcStride);
        FloatVector r10 = FloatVector.fromArray(S16, src, srcOffset + 10 * srcStride);
        FloatVector r11 = FloatVector.fromArray(S16, src, srcOffset + 11 * srcStride);
        FloatVector r12 = FloatVector.fromArray(S16, src, srcOffset + 12 * srcStride);
        FloatVector r13 = FloatVector.fromArray(S16, src, srcOffset + 13 * srcStride);
        FloatVector r14 = FloatVector.fromArray(S16, src, srcOffset + 14 * srcStride);
        FloatVector r15 = FloatVector.fromArray(S16, src, srcOffset + 15 * srcStride);
        FloatVector a0 = LOW16_0.selectFrom(r0, r1);
        FloatVector a1 = HIGH16_0.selectFrom(r0, r1);
        FloatVector a2 = LOW16_0.selectFrom(r2, r3);
        FloatVector a3 = HIGH16_0.selectFrom(r2, r3);
        FloatVector a4 = LOW16_0.selectFrom(r4, r5);
        FloatVector a5 = HIGH16_0.selectFrom(r4, r5);
        FloatVector a6 = LOW16_0.selectFrom(r6, r7);
        FloatVector a7 = HIGH16_0.selectFrom(r6, r7);
        FloatVector a8 = LOW16_0.selectFrom(r8, r9);
        FloatVector a9 = HIGH16_0.selectFrom(r8, r9);
        FloatVector a10 = LOW16_0.selectFrom(r10, r11);
        FloatVector a11 = HIGH16_0.selectFrom(r10, r11);
        FloatVector a12 = LOW16_0.selectFrom(r12, r13);
        FloatVector a13 = HIGH16_0.selectFrom(r12, r13);
        FloatVector a14 = LOW16_0.selectFrom(r14, r15);
        FloatVector a15 = HIGH16_0.selectFrom(r14, r15);
        FloatVector b0 = LOW16_1.selectFrom(a0, a2);
        FloatVector b2 = HIGH16_1.selectFrom(a0, a2);
        FloatVector b1 = LOW16_1.selectFrom(a1, a3);
        FloatVector b3 = HIGH16_1.selectFrom(a1, a3);
        FloatVector b4 = LOW16_1.selectFrom(a4, a6);
        FloatVector b6 = HIGH16_1.selectFrom(a4, a6);
        FloatVector b5 = LOW16_1.selectFrom(a5, a7);
        FloatVector b7 = HIGH16_1.selectFrom(a5, a7);
        FloatVector b8 = LOW16_1.selectFrom(a8, a10);
        FloatVector b10 = HIGH16_1.selectFrom(a8, a10);
        FloatVector b9 = LOW16_1.selectFrom(a9, a11);
        FloatVector b11 = HIGH16_1.selectFrom(a9, a11);
        FloatVector b12 = LOW16_1.selectFrom(a12, a14);
        FloatVector b14 = HIGH16_1.selectFrom(a12, a14);
        FloatVector b13 = LOW16_1.selectFrom(a13, a15);
        FloatVector b15 = HIGH16_1.selectFrom(a13, a15);
        FloatVector c0 = LOW16_2.selectFrom(b0, b4);
        FloatVector c4 = HIGH16_2.selectFrom(b0, b4);
        FloatVector c1 = LOW16_2.selectFrom(b1, b5);
        FloatVector c5 = HIGH16_2.selectFrom(b1, b5);
        FloatVector c2 = LOW16_2.selectFrom(b2, b6);
        FloatVector c6 = HIGH16_2.selectFrom(b2, b6);
        FloatVector c3 = LOW16_2.selectFrom(b3, b7);
        FloatVector c7 = HIGH16_2.selectFrom(b3, b7);
        FloatVector c8 = LOW16_2.selectFrom(b8, b12);
        FloatVector c12 = HIGH16_2.selectFrom(b8, b12);
        FloatVector c9 = LOW16_2.selectFrom(b9, b13);
        FloatVector c13 = HIGH16_2.selectFrom(b9, b13);
        FloatVector c10 = LOW16_2.selectFrom(b10, b14);
        FloatVector c14 = HIGH16_2.selectFrom(b10, b14);
        FloatVector c11 = LOW16_2.selectFrom(b11, b15);
        FloatVector c15 = HIGH16_2.selectFrom(b11, b15);
        FloatVector d0 = LOW16_3.selectFrom(c0, c8);
        FloatVector d8 = HIGH16_3.selectFrom(c0, c8);
        FloatVector d1 = LOW16_3.selectFrom(c1, c9);
        FloatVector d9 = HIGH16_3.selectFrom(c1, c9);
        FloatVector d2 = LOW16_3.selectFrom(c2, c10);
        FloatVector d10 = HIGH16_3.selectFrom(c2, c10);
        FloatVector d3 = LOW16_3.selectFrom(c3, c11);
        FloatVector d11 = HIGH16_3.selectFrom(c3, c11);
        FloatVector d4 = LOW16_3.selectFrom(c4, c12);
        FloatVector d12 = HIGH16_3.selectFrom(c4, c12);
        FloatVector d5 = LOW16_3.selectFrom(c5, c13);
        FloatVector d13 = HIGH16_3.selectFrom(c5, c13);
        FloatVector d6 = LOW16_3.selectFrom(c6, c14);
        FloatVector d14 = HIGH16_3.selectFrom(c6, c14);
        FloatVector d7 = LOW16_3.selectFrom(c7, c15);
        FloatVector d15 = HIGH16_3.selectFrom(c7, c15);
        d0.intoArray(dst, dstOffsets[0]);
        d1.intoArray(dst, dstOffsets[1]);
        d2.intoArray(dst, dstOffsets[2]);
        d3.intoArray(dst, dstOffsets[3]);
        d4.intoArray(dst, dstOffsets[4]);
        d5.intoArray(dst, dstOffsets[5]);
        d6.intoArray(dst, dstOffsets[6]);
        d7.intoArray(dst, dstOffsets[7]);
        d8.intoArray(dst, dstOffsets[8]);
        d9.intoArray(dst, dstOffsets[9]);
        d10.intoArray(dst, dstOffsets[10]);
        d11.intoArray(dst, dstOffsets[11]);
        d12.intoArray(dst, dstOffsets[12]);
        d13.intoArray(dst, dstOffsets[13]);
        d14.intoArray(dst, dstOffsets[14]);
        d15.intoArray(dst, dstOffsets[15]);
    }

    /**
     * Row i of the result, {@code src[srcOffset + j · srcStride + i]} for j in [0, 8), is
     * written at {@code dst[dstOffsets[i]]}.
     */
    static void transpose8(float[] src, int srcOffset, int srcStride, float[] dst,
            int[] dstOffsets) {
        FloatVector r0 = FloatVector.fromArray(S8, src, srcOffset);
        FloatVector r1 = FloatVector.fromArray(S8, src, srcOffset + 1 * srcStride);
        FloatVector r2 = FloatVector.fromArray(S8, src, srcOffset + 2 * srcStride);
        FloatVector r3 = FloatVector.fromArray(S8, src, srcOffset + 3 * srcStride);
        FloatVector r4 = FloatVector.fromArray(S8, src, srcOffset + 4 * srcStride);
        FloatVector r5 = FloatVector.fromArray(S8, src, srcOffset + 5 * srcStride);
        FloatVector r6 = FloatVector.fromArray(S8, src, srcOffset + 6 * srcStride);
        FloatVector r7 = FloatVector.fromArray(S8, src, srcOffset + 7 * srcStride);
        FloatVector a0 = r0.blend(r1.rearrange(UP8_0), SET8_0);
        FloatVector a1 = r0.rearrange(DOWN8_0).blend(r1, SET8_0);
        FloatVector a2 = r2.blend(r3.rearrange(UP8_0), SET8_0);
        FloatVector a3 = r2.rearrange(DOWN8_0).blend(r3, SET8_0);
        FloatVector a4 = r4.blend(r5.rearrange(UP8_0), SET8_0);
        FloatVector a5 = r4.rearrange(DOWN8_0).blend(r5, SET8_0);
        FloatVector a6 = r6.blend(r7.rearrange(UP8_0), SET8_0);
        FloatVector a7 = r6.rearrange(DOWN8_0).blend(r7, SET8_0);
        FloatVector b0 = a0.blend(a2.rearrange(UP8_1), SET8_1);
        FloatVector b2 = a0.rearrange(DOWN8_1).blend(a2, SET8_1);
        FloatVector b1 = a1.blend(a3.rearrange(UP8_1), SET8_1);
        FloatVector b3 = a1.rearrange(DOWN8_1).blend(a3, SET8_1);
        FloatVector b4 = a4.blend(a6.rearrange(UP8_1), SET8_1);
        FloatVector b6 = a4.rearrange(DOWN8_1).blend(a6, SET8_1);
        FloatVector b5 = a5.blend(a7.rearrange(UP8_1), SET8_1);
        FloatVector b7 = a5.rearrange(DOWN8_1).blend(a7, SET8_1);
        FloatVector c0 = b0.blend(b4.rearrange(UP8_2), SET8_2);
        FloatVector c4 = b0.rearrange(DOWN8_2).blend(b4, SET8_2);
        FloatVector c1 = b1.blend(b5.rearrange(UP8_2), SET8_2);
        FloatVector c5 = b1.rearrange(DOWN8_2).blend(b5, SET8_2);
        FloatVector c2 = b2.blend(b6.rearrange(UP8_2), SET8_2);
        FloatVector c6 = b2.rearrange(DOWN8_2).blend(b6, SET8_2);
        FloatVector c3 = b3.blend(b7.rearrange(UP8_2), SET8_2);
        FloatVector c7 = b3.rearrange(DOWN8_2).blend(b7, SET8_2);
        c0.intoArray(dst, dstOffsets[0]);
        c1.intoArray(dst, dstOffsets[1]);
        c2.intoArray(dst, dstOffsets[2]);
        c3.intoArray(dst, dstOffsets[3]);
        c4.intoArray(dst, dstOffsets[4]);
        c5.intoArray(dst, dstOffsets[5]);
        c6.intoArray(dst, dstOffsets[6]);
        c7.intoArray(dst, dstOffsets[7]);
    }
}
