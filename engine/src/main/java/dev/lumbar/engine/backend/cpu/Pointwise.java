package dev.lumbar.engine.backend.cpu;

import dev.lumbar.engine.backend.Activation;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised pointwise math: the activations and a bias-then-activation pass over a run of
 * floats, the epilogue of convolutions and linear layers.
 *
 * <p>GELU is the exact one, {@code x · Φ(x)} with {@code Φ(x) = erfc(−x/√2) / 2}. The normal
 * CDF is evaluated without cancellation in the negative tail: for {@code t = |x|/√2 < 0.7} from
 * {@code erf(t) = t · P(t²)}, beyond from {@code erfc(t) = exp(−t²) · R(1 / (1 + t/2))}, with
 * {@code exp(−t²)} corrected for the rounding of {@code t²}. P and R are weighted least-squares
 * fits made by {@code weights/tools/fit_erf_coefficients.py}; in float32 the result stays
 * within about 3e-7 relative of the true value over the whole range.
 */
final class Pointwise {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float ERF_SPLIT = 0.7f;
    private static final float ERFC_SCALE = 0.5f;
    private static final float ERFC_LIMIT = 10f;

    // erf(t) / t as a polynomial in t², lowest degree first
    private static final float P0 = 1.128379225730896f;
    private static final float P1 = -0.37612637877464294f;
    private static final float P2 = 0.11283785849809647f;
    private static final float P3 = -0.02686540223658085f;
    private static final float P4 = 0.00521931191906333f;
    private static final float P5 = -0.0008403274696320295f;
    private static final float P6 = 9.788534953258932e-05f;

    // erfc(t) · exp(t²) as a polynomial in u = 1 / (1 + t/2), lowest degree first
    private static final float R0 = 3.8098271488706814e-06f;
    private static final float R1 = 0.28197795152664185f;
    private static final float R2 = 0.28366193175315857f;
    private static final float R3 = 0.2347448319196701f;
    private static final float R4 = 0.2355584353208542f;
    private static final float R5 = -0.10805388540029526f;
    private static final float R6 = 0.4056397080421448f;
    private static final float R7 = -0.6096020936965942f;
    private static final float R8 = 0.3501063287258148f;
    private static final float R9 = -0.07404160499572754f;

    private Pointwise() {
    }

    /**
     * {@code dst[i] = act(src[i] + bias)} for i in [0, count); offsets in bytes. Source and
     * destination may be the same memory.
     */
    static void biasActivate(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias, Activation act) {
        FloatVector b = FloatVector.broadcast(S, bias);
        long i = 0;
        for (long bound = count - count % L; i < bound; i += L) {
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE).add(b);
            apply(x, act).intoMemorySegment(dst, dstOffset + o, LE);
        }
        if (i < count) {
            VectorMask<Float> tail = S.indexInRange(i, count);
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE, tail).add(b);
            apply(x, act).intoMemorySegment(dst, dstOffset + o, LE, tail);
        }
    }

    /**
     * {@code data[i] = act(data[i] + bias[i % width])} for i in [0, rows · width): a bias per
     * column of a row-major matrix, in place; offsets in bytes.
     */
    static void columnBiasActivate(MemorySegment data, long offset, long rows, int width,
            MemorySegment bias, Activation act) {
        for (long r = 0; r < rows; r++) {
            long row = offset + r * width * Float.BYTES;
            int i = 0;
            for (int bound = width - width % L; i < bound; i += L) {
                long o = (long) i * Float.BYTES;
                FloatVector x = FloatVector.fromMemorySegment(S, data, row + o, LE)
                        .add(FloatVector.fromMemorySegment(S, bias, o, LE));
                apply(x, act).intoMemorySegment(data, row + o, LE);
            }
            if (i < width) {
                VectorMask<Float> tail = S.indexInRange(i, width);
                long o = (long) i * Float.BYTES;
                FloatVector x = FloatVector.fromMemorySegment(S, data, row + o, LE, tail)
                        .add(FloatVector.fromMemorySegment(S, bias, o, LE, tail));
                apply(x, act).intoMemorySegment(data, row + o, LE, tail);
            }
        }
    }

    /** The activation of every lane. */
    static FloatVector apply(FloatVector x, Activation act) {
        return switch (act) {
            case IDENTITY -> x;
            case RELU -> x.max(0f);
            case GELU -> gelu(x);
            case SILU -> x.mul(sigmoid(x));
            case SIGMOID -> sigmoid(x);
            case TANH -> x.lanewise(VectorOperators.TANH);
        };
    }

    /** The activation of one value, for short loops; agrees with the vector form. */
    static float apply(float x, Activation act) {
        return apply(FloatVector.broadcast(S, x), act).lane(0);
    }

    static FloatVector sigmoid(FloatVector x) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        return one.div(one.add(x.neg().lanewise(VectorOperators.EXP)));
    }

    /** Exact GELU, {@code x · Φ(x)}. */
    static FloatVector gelu(FloatVector x) {
        FloatVector t = x.abs().mul(INV_SQRT2);

        // near zero: Φ = (1 ± erf(t)) / 2
        FloatVector s = t.mul(t);
        FloatVector p = s.fma(P6, P5).fma(s, bc(P4)).fma(s, bc(P3)).fma(s, bc(P2))
                .fma(s, bc(P1)).fma(s, bc(P0));
        FloatVector halfErf = t.mul(p).mul(0.5f);
        VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
        FloatVector phiNear = halfErf.blend(halfErf.neg(), negative).add(0.5f);

        // the tails: erfc(t) = exp(-t²) · R(u), Φ = erfc/2 below zero and 1 - erfc/2 above;
        // t² = x²/2 is formed from x exactly (a rounded t would cost 1e-5 at x = -11)
        FloatVector xc = x.abs().min(ERFC_LIMIT * (float) Math.sqrt(2));
        FloatVector u = FloatVector.broadcast(S, 1f).div(xc.mul(INV_SQRT2).fma(ERFC_SCALE, 1f));
        FloatVector r = u.fma(R9, R8).fma(u, bc(R7)).fma(u, bc(R6)).fma(u, bc(R5))
                .fma(u, bc(R4)).fma(u, bc(R3)).fma(u, bc(R2)).fma(u, bc(R1)).fma(u, bc(R0));
        FloatVector square = xc.mul(xc);
        FloatVector squareError = xc.fma(xc, square.neg());
        FloatVector gauss = square.mul(-0.5f).lanewise(VectorOperators.EXP)
                .mul(squareError.mul(-0.5f).add(1f));
        FloatVector halfErfc = gauss.mul(r).mul(0.5f);
        FloatVector phiTail = FloatVector.broadcast(S, 1f).sub(halfErfc).blend(halfErfc, negative);

        FloatVector phi = phiTail.blend(phiNear, t.compare(VectorOperators.LT, ERF_SPLIT));
        return x.mul(phi);
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(S, v);
    }
}
