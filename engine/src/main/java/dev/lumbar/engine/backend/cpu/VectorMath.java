package dev.lumbar.engine.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code exp} and {@code tanh} over float vectors, with a scalar twin of each that performs
 * the same IEEE operations in the same order, so a lane and the scalar call give the same bits.
 *
 * <p>Why not {@code lanewise(EXP)}: the Vector API computes it one lane at a time with
 * {@code Math.exp} until the JIT compiles the loop, and with a vendor vector routine after,
 * and the two round differently. The same input then gives different last digits in the
 * first study of a run than in later ones. Everything here is add, multiply, fused
 * multiply-add, divide, compare and bit manipulation, which Java rounds the same way in the
 * interpreter and in compiled code, vector or scalar.
 *
 * <p>exp: {@code x = k·ln2 + r} with {@code |r| <= ln2/2} (ln2 in two parts, so r is exact
 * to float precision), {@code exp(r)} by its Taylor polynomial to degree 7 (truncation
 * below 1e-8 relative), and {@code 2^k} built in the exponent bits, in two factors so
 * that results near overflow and in the subnormal range are rounded once. Within 2 ulp of
 * the true value.
 *
 * <p>The logistic functions (SiLU, sigmoid) take {@code e^−x} from {@link #logisticExp}, a
 * cheaper form: a degree-5 polynomial and one scaling, within 3 ulp (see there).
 *
 * <p>tanh: the odd Taylor series below |x| = 1/2 (relative accuracy near zero), else
 * {@code (1 − e)/(1 + e)} with {@code e = exp(−2|x|)}, which neither overflows nor cancels
 * badly. Within 1e-7 absolute and a few ulp relative.
 */
final class VectorMath {

    /**
     * Below this exp is zero in float, above it infinite; clamping keeps k in range. The
     * vector kernels clamp by a comparison and a blend, which leave a NaN as it is, as max
     * and min would: those also order −0 below +0, which no bound here needs, and cost five
     * instructions each on AVX2 (SiLU over 4,096 floats ran 0.59 ns a float with them, 0.41
     * with the blends, the same bits).
     */
    static final float EXP_MIN = -104f;
    static final float EXP_MAX = 89f;
    private static final double LN2 = 0.6931471805599453;
    static final float LOG2E = (float) (1 / LN2);
    static final float LN2_HI = (float) LN2;
    static final float LN2_LO = (float) (LN2 - LN2_HI);
    /** 1.5 · 2^23: adding it rounds to an integer and leaves that integer in the low bits. */
    static final float ROUNDER = 12582912f;
    static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    static final int EXPONENT_BIAS = 127;
    static final int MANTISSA_BITS = 23;

    // exp(r) = 1 + r + r²/2! + ... + r⁷/7!
    static final float E2 = 1f / 2;
    static final float E3 = (float) (1.0 / 6);
    static final float E4 = (float) (1.0 / 24);
    static final float E5 = (float) (1.0 / 120);
    static final float E6 = (float) (1.0 / 720);
    static final float E7 = (float) (1.0 / 5040);

    // e^−x for the logistic functions: x clamped to [LOGISTIC_MIN, LOGISTIC_MAX], then
    // exp(r) = 1 + r + Q2·r² + ... + Q5·r⁵, fitted for least maximum relative error on
    // |r| <= ln2/2 (1.05e-7, about an ulp; the Taylor coefficients would give 2.4e-6) by
    // weights/tools/fit_logistic_exp_coefficients.py
    static final float LOGISTIC_MIN = -89f;
    static final float LOGISTIC_MAX = 87.3f;
    static final float Q2 = 0.4999923f;
    static final float Q3 = 0.16667116f;
    static final float Q4 = 0.04189033f;
    static final float Q5 = 0.008312501f;
    /**
     * 1.5 · 2^23 + 127: adding it rounds to an integer k and leaves k plus the exponent bias in
     * the low bits, so that shifting those bits into the exponent field gives 2^k.
     */
    static final float BIASED_ROUNDER = ROUNDER + EXPONENT_BIAS;

    /** Below this |x|, tanh takes the odd series; the first omitted term is under 1e-9. */
    private static final float TANH_SERIES_LIMIT = 0.5f;
    // tanh(x) = x + x³ · (T3 + T5·x² + ... + T17·x¹⁴), the Taylor coefficients
    private static final float T3 = (float) (-1.0 / 3);
    private static final float T5 = (float) (2.0 / 15);
    private static final float T7 = (float) (-17.0 / 315);
    private static final float T9 = (float) (62.0 / 2835);
    private static final float T11 = (float) (-1382.0 / 155925);
    private static final float T13 = (float) (21844.0 / 6081075);
    private static final float T15 = (float) (-929569.0 / 638512875);
    private static final float T17 = (float) (6404582.0 / 10854718875.0);

    private VectorMath() {
    }

    /** e^x in every lane. */
    // LIMITATION: speed, not the result, depends on the compiler inlining this method (about
    // 200 bytecodes) into the calling loop; where its profile is too thin to, the vectors are
    // boxed and that loop runs several times slower until it is recompiled. The GELU, SiLU
    // and sigmoid loops of Pointwise, the hot callers, have the same operations written out;
    // keep them identical.
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.blend(EXP_MIN, x.lt(EXP_MIN));
        xc = xc.blend(EXP_MAX, xc.compare(VectorOperators.GT, EXP_MAX));

        // k = round(x / ln2), r = x − k·ln2
        FloatVector shifted = xc.fma(LOG2E, ROUNDER);
        FloatVector k = shifted.sub(ROUNDER);
        FloatVector r = k.fma(x.broadcast(-LN2_LO), k.fma(x.broadcast(-LN2_HI), xc));

        // exp(r)
        FloatVector p = r.fma(E7, E6).fma(r, x.broadcast(E5)).fma(r, x.broadcast(E4))
                .fma(r, x.broadcast(E3)).fma(r, x.broadcast(E2)).fma(r, x.broadcast(1f))
                .fma(r, x.broadcast(1f));

        // times 2^k1 · 2^k2 with k1 + k2 = k, each built in the exponent bits (no helper
        // methods here: a vector passed to a call the compiler does not inline is boxed)
        IntVector ki = shifted.viewAsIntegralLanes().sub(ROUNDER_BITS);
        IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1);
        IntVector k2 = ki.sub(k1);
        FloatVector scale1 = k1.add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, MANTISSA_BITS)
                .viewAsFloatingLanes();
        FloatVector scale2 = k2.add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, MANTISSA_BITS)
                .viewAsFloatingLanes();
        return p.mul(scale1).mul(scale2);
    }

    /** The scalar twin of {@link #exp(FloatVector)}. */
    static float exp(float x) {
        float xc = Math.min(Math.max(x, EXP_MIN), EXP_MAX);

        float shifted = Math.fma(xc, LOG2E, ROUNDER);
        float k = shifted - ROUNDER;
        float r = Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, xc));

        float p = Math.fma(r, E7, E6);
        p = Math.fma(p, r, E5);
        p = Math.fma(p, r, E4);
        p = Math.fma(p, r, E3);
        p = Math.fma(p, r, E2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);

        int ki = Float.floatToRawIntBits(shifted) - ROUNDER_BITS;
        int k1 = ki >> 1;
        int k2 = ki - k1;
        return p * powerOfTwo(k1) * powerOfTwo(k2);
    }

    /**
     * {@code e^−x}, for {@code 1 / (1 + e^−x)} and {@code x / (1 + e^−x)}: those are all this
     * is for, so it is cheaper than {@link #exp(float)}, which the logistic loops of
     * {@code Pointwise} write out lane-wise (keep them identical). Within 3 ulp of the true
     * value where that is a normal float. From x = −88.37 down it is infinite, a little before
     * float overflows (−88.72), and above x = 87.3 it stays at {@code e^−87.3}: in both the
     * logistic functions are already 0 or 1 (or x) to float precision, up to an absolute
     * 1e-36.
     *
     * <p>Why it is cheaper: one scaling by 2^k, whose exponent bits come straight from the
     * rounding sum ({@link #BIASED_ROUNDER}), no clamp of k beyond the clamp of x, the
     * argument's sign folded into the constants, and a degree-5 polynomial.
     */
    static float logisticExp(float x) {
        float xc = Math.min(Math.max(x, LOGISTIC_MIN), LOGISTIC_MAX);
        // k = round(−x / ln2); s = x + k·ln2 = −r, with e^−x = 2^k · e^r
        float shifted = Math.fma(xc, -LOG2E, BIASED_ROUNDER);
        float k = shifted - BIASED_ROUNDER;
        float s = Math.fma(k, LN2_LO, Math.fma(k, LN2_HI, xc));
        // e^r for r = −s: the odd coefficients change sign
        float p = Math.fma(s, -Q5, Q4);
        p = Math.fma(p, s, -Q3);
        p = Math.fma(p, s, Q2);
        p = Math.fma(p, s, -1f);
        p = Math.fma(p, s, 1f);
        return p * Float.intBitsToFloat(Float.floatToRawIntBits(shifted) << MANTISSA_BITS);
    }

    /** tanh(x) in every lane. */
    static FloatVector tanh(FloatVector x) {
        // near zero: x + x³ · q(x²)
        FloatVector s = x.mul(x);
        FloatVector q = s.fma(T17, T15).fma(s, x.broadcast(T13)).fma(s, x.broadcast(T11))
                .fma(s, x.broadcast(T9)).fma(s, x.broadcast(T7)).fma(s, x.broadcast(T5))
                .fma(s, x.broadcast(T3));
        FloatVector series = x.mul(s).fma(q, x);

        // elsewhere: (1 − e) / (1 + e) for e = exp(−2|x|)
        FloatVector magnitude = x.abs();
        FloatVector e = exp(magnitude.mul(-2f));
        FloatVector one = x.broadcast(1f);
        FloatVector far = one.sub(e).div(one.add(e));

        // with the sign of x, which the series has already but for x = −0
        VectorMask<Float> small = magnitude.compare(VectorOperators.LT, TANH_SERIES_LIMIT);
        IntVector sign = x.viewAsIntegralLanes().and(Integer.MIN_VALUE);
        return far.blend(series, small).viewAsIntegralLanes().or(sign).viewAsFloatingLanes();
    }

    /** The scalar twin of {@link #tanh(FloatVector)}. */
    static float tanh(float x) {
        float magnitude = Math.abs(x);
        float t;
        if (magnitude < TANH_SERIES_LIMIT) {
            float s = x * x;
            float q = Math.fma(s, T17, T15);
            q = Math.fma(q, s, T13);
            q = Math.fma(q, s, T11);
            q = Math.fma(q, s, T9);
            q = Math.fma(q, s, T7);
            q = Math.fma(q, s, T5);
            q = Math.fma(q, s, T3);
            t = Math.fma(x * s, q, x);
        } else {
            float e = exp(magnitude * -2f);
            t = (1f - e) / (1f + e);
        }
        return Float.intBitsToFloat(Float.floatToRawIntBits(t)
                | (Float.floatToRawIntBits(x) & Integer.MIN_VALUE));
    }

    /** 2^k for k in [-126, 127], from the exponent bits. */
    private static float powerOfTwo(int k) {
        return Float.intBitsToFloat((k + EXPONENT_BIAS) << MANTISSA_BITS);
    }
}
