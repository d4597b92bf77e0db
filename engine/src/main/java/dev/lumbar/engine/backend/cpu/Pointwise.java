package dev.lumbar.engine.backend.cpu;

import static jdk.incubator.vector.FloatVector.broadcast;

import dev.lumbar.engine.backend.Activation;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised pointwise math: the activations and a bias-then-activation pass over a run of
 * floats, the epilogue of convolutions and linear layers.
 *
 * <p>GELU is the exact one, {@code x · Φ(x)} with {@code Φ(x) = erfc(−x/√2) / 2}, evaluated
 * as {@code erfc(t) = exp(−t²) · R(1 / (1 + t/2))} for {@code t = |x|/√2}, so neither tail
 * loses digits to cancellation, with {@code exp(−t²)} corrected for the rounding of
 * {@code t²}. R is a weighted least-squares fit made by
 * {@code weights/tools/fit_erf_coefficients.py}; in float32 the result stays within about
 * 3e-7 relative of the true value for x above −12.5. Below that, where |GELU(x)| is under
 * 5e-35, the result is zero: the values on the way there would be subnormal, and subnormal
 * arithmetic runs several times slower on x86 (a layer of random weights with many such
 * inputs ran its GELU 1.6 times slower). Above 12.5, Φ is 1 to float precision.
 */
final class Pointwise {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float ERFC_SCALE = 0.5f;
    /**
     * GELU is computed for |x| up to this; beyond it Φ is taken as 0 (x negative) or 1. At
     * 12.5 every intermediate value is still a normal float; the fit reaches 10·√2.
     */
    private static final float X_LIMIT = 12.5f;

    // erfc(t) · exp(t²) as a polynomial in u = 1 / (1 + t/2), lowest degree first
    private static final float R0 = 9.17899433261482e-06f;
    private static final float R1 = 0.2818281054496765f;
    private static final float R2 = 0.28547221422195435f;
    private static final float R3 = 0.22227665781974792f;
    private static final float R4 = 0.28978535532951355f;
    private static final float R5 = -0.2638104259967804f;
    private static final float R6 = 0.7052550911903381f;
    private static final float R7 = -0.9913491606712341f;
    private static final float R8 = 0.6589779853820801f;
    private static final float R9 = -0.21760544180870056f;
    private static final float R10 = 0.02916046604514122f;

    private Pointwise() {
    }

    /**
     * {@code dst[i] = act(src[i] + bias)} for i in [0, count); offsets in bytes. Source and
     * destination may be the same memory.
     */
    static void biasActivate(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias, Activation act) {
        apply(act, src, srcOffset, dst, dstOffset, count, bias);
    }

    /**
     * The epilogue of a register tile whose rows are two vectors ({@code 2·L} floats, laid end
     * to end from {@code srcOffset}): {@code dst row r = act(src row r + bias[first + r])} for
     * r in [0, rows), row r of dst starting {@code r · dstStride} bytes after
     * {@code dstOffset}; in place where dst is src with a stride of one row. Bias null for
     * none. The same operations, in the same order, as {@link #biasActivate}, so the same
     * bits; but the rows are whole vectors, so no load or store is masked and one pass does
     * bias and activation, which on a 6 × 32 tile costs about half of a bias pass followed by
     * an activation pass.
     *
     * <p>Why SiLU and GELU are written out again here rather than the run loops taking rows:
     * a row of exactly two vectors lets the compiler unroll it whole. Calling the run loop once
     * per row (0.82 ns a value for SiLU) or giving it a loop over rows (1.1 ns) were both
     * slower than this (0.62 ns).
     */
    static void tileBiasActivate(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long dstStride, int rows, MemorySegment bias, long first,
            Activation act) {
        switch (act) {
            case SILU -> tileSilu(src, srcOffset, dst, dstOffset, dstStride, rows, bias, first);
            case GELU -> tileGelu(src, srcOffset, dst, dstOffset, dstStride, rows, bias, first);
            case IDENTITY -> tileIdentity(src, srcOffset, dst, dstOffset, dstStride, rows, bias,
                    first);
            default -> {
                for (int r = 0; r < rows; r++) {
                    apply(act, src, srcOffset + (long) r * 2 * L * Float.BYTES, dst,
                            dstOffset + r * dstStride, 2L * L, rowBias(bias, first, r));
                }
            }
        }
    }

    private static float rowBias(MemorySegment bias, long first, int r) {
        return bias == null ? 0f : bias.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, first + r);
    }

    /**
     * The bias alone over a tile's rows of two vectors, unmasked: the projections of every
     * MBConv block end this way, and the masked row loop of {@link #apply} cost them more.
     */
    private static void tileIdentity(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long dstStride, int rows, MemorySegment bias, long first) {
        long half = (long) L * Float.BYTES;
        for (int r = 0; r < rows; r++) {
            float b = rowBias(bias, first, r);
            long from = srcOffset + 2 * r * half;
            long to = dstOffset + r * dstStride;
            FloatVector.fromMemorySegment(S, src, from, LE).add(b)
                    .intoMemorySegment(dst, to, LE);
            FloatVector.fromMemorySegment(S, src, from + half, LE).add(b)
                    .intoMemorySegment(dst, to + half, LE);
        }
    }

    /**
     * {@link #silu} over a tile's rows of two vectors, unmasked. The rows are copied onto the
     * heap, activated there and copied out: each load and store of a memory segment checks
     * its segment's bounds and session, which in a loop of a few rows the compiler cannot
     * hoist, and those checks cost about as much as SiLU's arithmetic (on a Zen 3 core, a
     * tile's rows 1.04 ns a value read and written in place, 0.82 through the heap). A row's
     * two vectors go through SiLU's chain of some 20 dependent operations side by side, each
     * operation on one then the other, which gained a few per cent more over one vector after
     * the other.
     */
    private static void tileSilu(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long dstStride, int rows, MemorySegment bias, long first) {
        float[] tile = tileRows(src, srcOffset, rows);
        for (int r = 0; r < rows; r++) {
            float b = rowBias(bias, first, r);
            int at = 2 * r * L;
            FloatVector x = FloatVector.fromArray(S, tile, at).add(b);
            FloatVector y = FloatVector.fromArray(S, tile, at + L).add(b);
            FloatVector xc = x.blend(VectorMath.LOGISTIC_MIN, x.lt(VectorMath.LOGISTIC_MIN));
            FloatVector yc = y.blend(VectorMath.LOGISTIC_MIN, y.lt(VectorMath.LOGISTIC_MIN));
            xc = xc.blend(VectorMath.LOGISTIC_MAX,
                    xc.compare(VectorOperators.GT, VectorMath.LOGISTIC_MAX));
            yc = yc.blend(VectorMath.LOGISTIC_MAX,
                    yc.compare(VectorOperators.GT, VectorMath.LOGISTIC_MAX));
            FloatVector xShifted = xc.fma(-VectorMath.LOG2E, VectorMath.BIASED_ROUNDER);
            FloatVector yShifted = yc.fma(-VectorMath.LOG2E, VectorMath.BIASED_ROUNDER);
            FloatVector xk = xShifted.sub(VectorMath.BIASED_ROUNDER);
            FloatVector yk = yShifted.sub(VectorMath.BIASED_ROUNDER);
            FloatVector xs = xk.fma(broadcast(S, VectorMath.LN2_LO),
                    xk.fma(broadcast(S, VectorMath.LN2_HI), xc));
            FloatVector ys = yk.fma(broadcast(S, VectorMath.LN2_LO),
                    yk.fma(broadcast(S, VectorMath.LN2_HI), yc));
            FloatVector xe = xs.fma(-VectorMath.Q5, VectorMath.Q4);
            FloatVector ye = ys.fma(-VectorMath.Q5, VectorMath.Q4);
            xe = xe.fma(xs, broadcast(S, -VectorMath.Q3));
            ye = ye.fma(ys, broadcast(S, -VectorMath.Q3));
            xe = xe.fma(xs, broadcast(S, VectorMath.Q2));
            ye = ye.fma(ys, broadcast(S, VectorMath.Q2));
            xe = xe.fma(xs, broadcast(S, -1f));
            ye = ye.fma(ys, broadcast(S, -1f));
            xe = xe.fma(xs, broadcast(S, 1f));
            ye = ye.fma(ys, broadcast(S, 1f));
            xe = xe.mul(xShifted.viewAsIntegralLanes()
                    .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS)
                    .viewAsFloatingLanes());
            ye = ye.mul(yShifted.viewAsIntegralLanes()
                    .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS)
                    .viewAsFloatingLanes());
            x.div(xe.add(1f)).intoArray(tile, at);
            y.div(ye.add(1f)).intoArray(tile, at + L);
        }
        storeTileRows(tile, rows, dst, dstOffset, dstStride);
    }

    /** {@link #gelu} over a tile's rows of two vectors, on the heap and side by side as SiLU. */
    private static void tileGelu(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long dstStride, int rows, MemorySegment bias, long first) {
        float[] tile = tileRows(src, srcOffset, rows);
        for (int r = 0; r < rows; r++) {
            float b = rowBias(bias, first, r);
            int at = 2 * r * L;
            FloatVector x = FloatVector.fromArray(S, tile, at).add(b);
            FloatVector y = FloatVector.fromArray(S, tile, at + L).add(b);
            FloatVector xa = x.abs();
            FloatVector ya = y.abs();
            FloatVector xc = xa.blend(X_LIMIT, xa.compare(VectorOperators.GT, X_LIMIT));
            FloatVector yc = ya.blend(X_LIMIT, ya.compare(VectorOperators.GT, X_LIMIT));
            FloatVector xu = broadcast(S, 1f).div(xc.mul(INV_SQRT2).fma(ERFC_SCALE, 1f));
            FloatVector yu = broadcast(S, 1f).div(yc.mul(INV_SQRT2).fma(ERFC_SCALE, 1f));
            FloatVector xr = xu.fma(R10, R9);
            FloatVector yr = yu.fma(R10, R9);
            xr = xr.fma(xu, broadcast(S, R8));
            yr = yr.fma(yu, broadcast(S, R8));
            xr = xr.fma(xu, broadcast(S, R7));
            yr = yr.fma(yu, broadcast(S, R7));
            xr = xr.fma(xu, broadcast(S, R6));
            yr = yr.fma(yu, broadcast(S, R6));
            xr = xr.fma(xu, broadcast(S, R5));
            yr = yr.fma(yu, broadcast(S, R5));
            xr = xr.fma(xu, broadcast(S, R4));
            yr = yr.fma(yu, broadcast(S, R4));
            xr = xr.fma(xu, broadcast(S, R3));
            yr = yr.fma(yu, broadcast(S, R3));
            xr = xr.fma(xu, broadcast(S, R2));
            yr = yr.fma(yu, broadcast(S, R2));
            xr = xr.fma(xu, broadcast(S, R1));
            yr = yr.fma(yu, broadcast(S, R1));
            xr = xr.fma(xu, broadcast(S, R0));
            yr = yr.fma(yu, broadcast(S, R0));
            FloatVector xSquare = xc.mul(xc);
            FloatVector ySquare = yc.mul(yc);
            FloatVector xSquareError = xc.fma(xc, xSquare.neg());
            FloatVector ySquareError = yc.fma(yc, ySquare.neg());
            FloatVector xec = xSquare.mul(-0.5f);
            FloatVector yec = ySquare.mul(-0.5f);
            FloatVector xShifted = xec.fma(VectorMath.LOG2E, VectorMath.ROUNDER);
            FloatVector yShifted = yec.fma(VectorMath.LOG2E, VectorMath.ROUNDER);
            FloatVector xk = xShifted.sub(VectorMath.ROUNDER);
            FloatVector yk = yShifted.sub(VectorMath.ROUNDER);
            FloatVector xer = xk.fma(broadcast(S, -VectorMath.LN2_LO),
                    xk.fma(broadcast(S, -VectorMath.LN2_HI), xec));
            FloatVector yer = yk.fma(broadcast(S, -VectorMath.LN2_LO),
                    yk.fma(broadcast(S, -VectorMath.LN2_HI), yec));
            FloatVector xep = xer.fma(VectorMath.E7, VectorMath.E6);
            FloatVector yep = yer.fma(VectorMath.E7, VectorMath.E6);
            xep = xep.fma(xer, broadcast(S, VectorMath.E5));
            yep = yep.fma(yer, broadcast(S, VectorMath.E5));
            xep = xep.fma(xer, broadcast(S, VectorMath.E4));
            yep = yep.fma(yer, broadcast(S, VectorMath.E4));
            xep = xep.fma(xer, broadcast(S, VectorMath.E3));
            yep = yep.fma(yer, broadcast(S, VectorMath.E3));
            xep = xep.fma(xer, broadcast(S, VectorMath.E2));
            yep = yep.fma(yer, broadcast(S, VectorMath.E2));
            xep = xep.fma(xer, broadcast(S, 1f));
            yep = yep.fma(yer, broadcast(S, 1f));
            xep = xep.fma(xer, broadcast(S, 1f));
            yep = yep.fma(yer, broadcast(S, 1f));
            FloatVector xScale = xShifted.viewAsIntegralLanes().sub(VectorMath.ROUNDER_BITS)
                    .add(VectorMath.EXPONENT_BIAS)
                    .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS).viewAsFloatingLanes();
            FloatVector yScale = yShifted.viewAsIntegralLanes().sub(VectorMath.ROUNDER_BITS)
                    .add(VectorMath.EXPONENT_BIAS)
                    .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS).viewAsFloatingLanes();
            FloatVector xGauss = xep.mul(xScale).mul(xSquareError.mul(-0.5f).add(1f));
            FloatVector yGauss = yep.mul(yScale).mul(ySquareError.mul(-0.5f).add(1f));
            FloatVector xHalfErfc = xGauss.mul(xr).mul(0.5f);
            FloatVector yHalfErfc = yGauss.mul(yr).mul(0.5f);
            FloatVector xPhi = broadcast(S, 1f).sub(xHalfErfc)
                    .blend(xHalfErfc, x.compare(VectorOperators.LT, 0f))
                    .blend(0f, x.compare(VectorOperators.LT, -X_LIMIT));
            FloatVector yPhi = broadcast(S, 1f).sub(yHalfErfc)
                    .blend(yHalfErfc, y.compare(VectorOperators.LT, 0f))
                    .blend(0f, y.compare(VectorOperators.LT, -X_LIMIT));
            x.mul(xPhi).intoArray(tile, at);
            y.mul(yPhi).intoArray(tile, at + L);
        }
        storeTileRows(tile, rows, dst, dstOffset, dstStride);
    }

    /** A tile's rows of two vectors, laid end to end from {@code offset}, copied onto the heap. */
    private static float[] tileRows(MemorySegment src, long offset, int rows) {
        int count = rows * 2 * L;
        float[] tile = Convolutions.buffer(TILE_ROWS, count);
        MemorySegment.copy(src, F32, offset, tile, 0, count);
        return tile;
    }

    /** The heap's tile rows out to dst, row r at {@code offset + r · stride} bytes. */
    private static void storeTileRows(float[] tile, int rows, MemorySegment dst, long offset,
            long stride) {
        int row = 2 * L;
        if (stride == (long) row * Float.BYTES) {
            MemorySegment.copy(tile, 0, dst, F32, offset, rows * row);
            return;
        }
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(tile, r * row, dst, F32, offset + r * stride, row);
        }
    }

    /** Each thread's copy of a tile's rows for {@link #tileSilu} and {@link #tileGelu}. */
    private static final ThreadLocal<float[]> TILE_ROWS =
            ThreadLocal.withInitial(() -> new float[16 * 2 * L]);

    /**
     * {@code data[i] = act(data[i] + bias[i % width])} for i in [0, rows · width): a bias per
     * column of a row-major matrix, in place; offsets in bytes.
     */
    static void columnBiasActivate(MemorySegment data, long offset, long rows, int width,
            MemorySegment bias, Activation act) {
        for (long r = 0; r < rows; r++) {
            long row = offset + r * width * Float.BYTES;
            // the bias vector in a loop of its own: an activation loop that sometimes took a
            // second bias and sometimes not was compiled for one case, and calls in the other
            // sent it back to the interpreter (a squeeze-excite gate ran ten times slower in
            // some JVMs)
            for (long i = 0; i < width; i += L) {
                VectorMask<Float> lanes = S.indexInRange(i, width);
                long o = i * Float.BYTES;
                FloatVector.fromMemorySegment(S, data, row + o, LE, lanes)
                        .add(FloatVector.fromMemorySegment(S, bias, o, LE, lanes))
                        .intoMemorySegment(data, row + o, LE, lanes);
            }
            if (act != Activation.IDENTITY) {
                apply(act, data, row, data, row, width, 0f);
            }
        }
    }

    /**
     * One loop per activation, each with its whole body written out: a vector passed to a
     * method the compiler does not inline is boxed on the heap, which costs several times
     * the arithmetic.
     */
    private static void apply(Activation act, MemorySegment src, long srcOffset,
            MemorySegment dst, long dstOffset, long count, float bias) {
        switch (act) {
            case IDENTITY -> identity(src, srcOffset, dst, dstOffset, count, bias);
            case RELU -> relu(src, srcOffset, dst, dstOffset, count, bias);
            case TANH -> tanh(src, srcOffset, dst, dstOffset, count, bias);
            case GELU, SILU, SIGMOID -> {
                // the costly ones run on whole vectors, unmasked: a masked load and store
                // cost about a third more than the arithmetic of SiLU. The last partial
                // vector goes through a vector of scratch, zero past the end.
                long whole = count - count % L;
                wholeVectors(act, src, srcOffset, dst, dstOffset, whole, bias);
                if (whole < count) {
                    MemorySegment tail = TAIL.get();
                    VectorMask<Float> lanes = S.indexInRange(whole, count);
                    long at = whole * Float.BYTES;
                    FloatVector.fromMemorySegment(S, src, srcOffset + at, LE, lanes)
                            .intoMemorySegment(tail, 0, LE);
                    wholeVectors(act, tail, 0, tail, 0, L, bias);
                    FloatVector.fromMemorySegment(S, tail, 0, LE)
                            .intoMemorySegment(dst, dstOffset + at, LE, lanes);
                }
            }
        }
    }

    /** One vector of scratch per thread, off the heap like the tensors the loops run on. */
    private static final ThreadLocal<MemorySegment> TAIL = ThreadLocal.withInitial(
            () -> java.lang.foreign.Arena.ofAuto().allocate((long) L * Float.BYTES, 64));

    /** The costly activations over {@code count} floats, a multiple of L. */
    private static void wholeVectors(Activation act, MemorySegment src, long srcOffset,
            MemorySegment dst, long dstOffset, long count, float bias) {
        switch (act) {
            case GELU -> gelu(src, srcOffset, dst, dstOffset, count, bias);
            case SILU -> silu(src, srcOffset, dst, dstOffset, count, bias);
            case SIGMOID -> sigmoid(src, srcOffset, dst, dstOffset, count, bias);
            default -> throw new IllegalArgumentException(act.name());
        }
    }

    private static void identity(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias) {
        for (long i = 0; i < count; i += L) {
            VectorMask<Float> lanes = S.indexInRange(i, count);
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE, lanes)
                    .add(bias);
            x.intoMemorySegment(dst, dstOffset + o, LE, lanes);
        }
    }

    private static void relu(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias) {
        for (long i = 0; i < count; i += L) {
            VectorMask<Float> lanes = S.indexInRange(i, count);
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE, lanes)
                    .add(bias);
            x.max(0f).intoMemorySegment(dst, dstOffset + o, LE, lanes);
        }
    }

    // sigmoid, silu and gelu: whole vectors only, count a multiple of L (see apply)

    private static void sigmoid(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias) {
        for (long i = 0; i < count; i += L) {
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE)
                    .add(bias);
            // e = e^−x as VectorMath.logisticExp computes it, the same operations in order
            // (a call the compiler declines to inline boxes the vectors: several times slower)
            FloatVector xc = x.blend(VectorMath.LOGISTIC_MIN, x.lt(VectorMath.LOGISTIC_MIN));
            xc = xc.blend(VectorMath.LOGISTIC_MAX,
                    xc.compare(VectorOperators.GT, VectorMath.LOGISTIC_MAX));
            FloatVector shifted = xc.fma(-VectorMath.LOG2E, VectorMath.BIASED_ROUNDER);
            FloatVector k = shifted.sub(VectorMath.BIASED_ROUNDER);
            FloatVector s = k.fma(broadcast(S, VectorMath.LN2_LO),
                    k.fma(broadcast(S, VectorMath.LN2_HI), xc));
            FloatVector e = s.fma(-VectorMath.Q5, VectorMath.Q4)
                    .fma(s, broadcast(S, -VectorMath.Q3)).fma(s, broadcast(S, VectorMath.Q2))
                    .fma(s, broadcast(S, -1f)).fma(s, broadcast(S, 1f))
                    .mul(shifted.viewAsIntegralLanes()
                            .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS)
                            .viewAsFloatingLanes());
            FloatVector.broadcast(S, 1f).div(e.add(1f))
                    .intoMemorySegment(dst, dstOffset + o, LE);
        }
    }

    private static void silu(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias) {
        for (long i = 0; i < count; i += L) {
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE)
                    .add(bias);
            // e = e^−x as VectorMath.logisticExp computes it, the same operations in order
            // (a call the compiler declines to inline boxes the vectors: several times slower)
            FloatVector xc = x.blend(VectorMath.LOGISTIC_MIN, x.lt(VectorMath.LOGISTIC_MIN));
            xc = xc.blend(VectorMath.LOGISTIC_MAX,
                    xc.compare(VectorOperators.GT, VectorMath.LOGISTIC_MAX));
            FloatVector shifted = xc.fma(-VectorMath.LOG2E, VectorMath.BIASED_ROUNDER);
            FloatVector k = shifted.sub(VectorMath.BIASED_ROUNDER);
            FloatVector s = k.fma(broadcast(S, VectorMath.LN2_LO),
                    k.fma(broadcast(S, VectorMath.LN2_HI), xc));
            FloatVector e = s.fma(-VectorMath.Q5, VectorMath.Q4)
                    .fma(s, broadcast(S, -VectorMath.Q3)).fma(s, broadcast(S, VectorMath.Q2))
                    .fma(s, broadcast(S, -1f)).fma(s, broadcast(S, 1f))
                    .mul(shifted.viewAsIntegralLanes()
                            .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS)
                            .viewAsFloatingLanes());
            x.div(e.add(1f)).intoMemorySegment(dst, dstOffset + o, LE);
        }
    }

    /**
     * {@link #silu} with a bias of zero, of {@code count} floats (whole vectors) of src from
     * byte offset {@code srcOffset} into the heap array dst from index {@code dstIndex}: the
     * same operations, so the same bits. An inverted residual's depthwise convolution takes
     * the expansion's SiLU this way as it copies each row of its input in. Its own copy of
     * the operations, as in the other SiLU loops: a helper taking and returning vectors that
     * the compiler does not inline boxes them.
     */
    static void siluIntoArray(MemorySegment src, long srcOffset, float[] dst, int dstIndex,
            int count) {
        for (int i = 0; i < count; i += L) {
            FloatVector x = FloatVector.fromMemorySegment(S, src,
                    srcOffset + (long) i * Float.BYTES, LE).add(0f);
            FloatVector xc = x.blend(VectorMath.LOGISTIC_MIN, x.lt(VectorMath.LOGISTIC_MIN));
            xc = xc.blend(VectorMath.LOGISTIC_MAX,
                    xc.compare(VectorOperators.GT, VectorMath.LOGISTIC_MAX));
            FloatVector shifted = xc.fma(-VectorMath.LOG2E, VectorMath.BIASED_ROUNDER);
            FloatVector k = shifted.sub(VectorMath.BIASED_ROUNDER);
            FloatVector s = k.fma(broadcast(S, VectorMath.LN2_LO),
                    k.fma(broadcast(S, VectorMath.LN2_HI), xc));
            FloatVector e = s.fma(-VectorMath.Q5, VectorMath.Q4)
                    .fma(s, broadcast(S, -VectorMath.Q3)).fma(s, broadcast(S, VectorMath.Q2))
                    .fma(s, broadcast(S, -1f)).fma(s, broadcast(S, 1f))
                    .mul(shifted.viewAsIntegralLanes()
                            .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS)
                            .viewAsFloatingLanes());
            x.div(e.add(1f)).intoArray(dst, dstIndex + i);
        }
    }

    /**
     * {@link #silu} of {@code count} floats (whole vectors) of a heap array into dst (byte
     * offset), and the mean of each lane over those vectors, {@code sum · inverse}, into
     * means (byte offset): a channel-blocked plane's activation and its channels'
     * squeeze-excite means in one pass, the sums never copied to dst first. The same
     * operations as {@link #silu} with a bias of zero, and the means summed vector after
     * vector from zero, as a pass over dst would.
     */
    static void siluWithMeans(float[] src, int count, MemorySegment dst, long dstOffset,
            MemorySegment means, long meansOffset, float inverse) {
        FloatVector sum = FloatVector.zero(S);
        for (int i = 0; i < count; i += L) {
            FloatVector x = FloatVector.fromArray(S, src, i).add(0f);
            FloatVector xc = x.blend(VectorMath.LOGISTIC_MIN, x.lt(VectorMath.LOGISTIC_MIN));
            xc = xc.blend(VectorMath.LOGISTIC_MAX,
                    xc.compare(VectorOperators.GT, VectorMath.LOGISTIC_MAX));
            FloatVector shifted = xc.fma(-VectorMath.LOG2E, VectorMath.BIASED_ROUNDER);
            FloatVector k = shifted.sub(VectorMath.BIASED_ROUNDER);
            FloatVector s = k.fma(broadcast(S, VectorMath.LN2_LO),
                    k.fma(broadcast(S, VectorMath.LN2_HI), xc));
            FloatVector e = s.fma(-VectorMath.Q5, VectorMath.Q4)
                    .fma(s, broadcast(S, -VectorMath.Q3)).fma(s, broadcast(S, VectorMath.Q2))
                    .fma(s, broadcast(S, -1f)).fma(s, broadcast(S, 1f))
                    .mul(shifted.viewAsIntegralLanes()
                            .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS)
                            .viewAsFloatingLanes());
            FloatVector y = x.div(e.add(1f));
            y.intoMemorySegment(dst, dstOffset + (long) i * Float.BYTES, LE);
            sum = sum.add(y);
        }
        sum.mul(inverse).intoMemorySegment(means, meansOffset, LE);
    }

    private static void tanh(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias) {
        for (long i = 0; i < count; i += L) {
            VectorMask<Float> lanes = S.indexInRange(i, count);
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE, lanes)
                    .add(bias);
            VectorMath.tanh(x).intoMemorySegment(dst, dstOffset + o, LE, lanes);
        }
    }

    /** Exact GELU, {@code x · Φ(x)}. */
    private static void gelu(MemorySegment src, long srcOffset, MemorySegment dst,
            long dstOffset, long count, float bias) {
        for (long i = 0; i < count; i += L) {
            long o = i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, src, srcOffset + o, LE)
                    .add(bias);

            // erfc(t) = exp(-t²) · R(u) for t = |x|/√2; t² = x²/2 is formed from x exactly
            // (a rounded t would cost 1e-5 relative at x = -11)
            FloatVector xa = x.abs();
            FloatVector xc = xa.blend(X_LIMIT, xa.compare(VectorOperators.GT, X_LIMIT));
            FloatVector u = broadcast(S, 1f).div(xc.mul(INV_SQRT2).fma(ERFC_SCALE, 1f));
            FloatVector r = u.fma(R10, R9).fma(u, broadcast(S, R8)).fma(u, broadcast(S, R7))
                    .fma(u, broadcast(S, R6)).fma(u, broadcast(S, R5)).fma(u, broadcast(S, R4))
                    .fma(u, broadcast(S, R3)).fma(u, broadcast(S, R2)).fma(u, broadcast(S, R1))
                    .fma(u, broadcast(S, R0));
            FloatVector square = xc.mul(xc);
            FloatVector squareError = xc.fma(xc, square.neg());
            // exp(-x²/2): VectorMath.exp written out, the same operations in the same order,
            // but for an argument in [-78.125, 0] (|x| is at most X_LIMIT): no clamp is needed,
            // and 2^k is a normal float, so one multiply scales by it exactly where exp for
            // any argument takes two.
            // This loop is large enough that the compiler often declines to inline a call
            // to it, and then boxes the vectors; the Vector API's own methods are always
            // inlined.
            FloatVector ec = square.mul(-0.5f);
            FloatVector shifted = ec.fma(VectorMath.LOG2E, VectorMath.ROUNDER);
            FloatVector k = shifted.sub(VectorMath.ROUNDER);
            FloatVector er = k.fma(broadcast(S, -VectorMath.LN2_LO),
                    k.fma(broadcast(S, -VectorMath.LN2_HI), ec));
            FloatVector ep = er.fma(VectorMath.E7, VectorMath.E6)
                    .fma(er, broadcast(S, VectorMath.E5)).fma(er, broadcast(S, VectorMath.E4))
                    .fma(er, broadcast(S, VectorMath.E3)).fma(er, broadcast(S, VectorMath.E2))
                    .fma(er, broadcast(S, 1f)).fma(er, broadcast(S, 1f));
            IntVector ki = shifted.viewAsIntegralLanes().sub(VectorMath.ROUNDER_BITS);
            FloatVector scale = ki.add(VectorMath.EXPONENT_BIAS)
                    .lanewise(VectorOperators.LSHL, VectorMath.MANTISSA_BITS).viewAsFloatingLanes();
            FloatVector gauss = ep.mul(scale).mul(squareError.mul(-0.5f).add(1f));
            FloatVector halfErfc = gauss.mul(r).mul(0.5f);

            // Φ = erfc/2 below zero and 1 - erfc/2 above: no cancellation in either tail
            VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
            FloatVector phi = broadcast(S, 1f).sub(halfErfc).blend(halfErfc, negative)
                    .blend(0f, x.compare(VectorOperators.LT, -X_LIMIT));
            x.mul(phi).intoMemorySegment(dst, dstOffset + o, LE);
        }
    }
}
