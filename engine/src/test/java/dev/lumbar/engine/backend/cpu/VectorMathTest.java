package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** Accuracy of {@link VectorMath} against StrictMath, and its vector and scalar forms agreeing. */
class VectorMathTest {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Every this-many-th float bit pattern is checked: about a million inputs per function. */
    private static final int STRIDE = 2311;

    private static final float[] SPECIAL = {
        0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-30f, -1e-30f, 1e-4f,
        0.5f, -0.5f, Math.nextDown(0.5f), Math.nextUp(-0.5f), 1f, -1f, 9f, -9f, 10f, -10f,
        88.72283f, 88.722839f, 88.7229f, 89f, 100f, -87.33654f, -87.3366f, -103.27893f,
        -103.972f, -103.98f, -104f, -200f, Float.MAX_VALUE, -Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};

    @Test
    void expIsWithinTwoUlpOfStrictMathOverTheWholeFloatRange() {
        double worst = 0;
        float worstAt = 0;
        for (long bits = Float.floatToRawIntBits(-110f); bits >= 0; bits -= STRIDE) {
            float x = Float.intBitsToFloat((int) bits);
            double error = expUlpError(x);
            if (error > worst) {
                worst = error;
                worstAt = x;
            }
        }
        for (long bits = 0; bits <= Float.floatToRawIntBits(95f); bits += STRIDE) {
            float x = Float.intBitsToFloat((int) bits);
            double error = expUlpError(x);
            if (error > worst) {
                worst = error;
                worstAt = x;
            }
        }
        for (float x : SPECIAL) {
            if (!Float.isNaN(x)) {
                double error = expUlpError(x);
                if (error > worst) {
                    worst = error;
                    worstAt = x;
                }
            }
        }
        System.out.printf("exp: worst error %.3f ulp at x = %s%n", worst, worstAt);
        assertTrue(worst <= 2, "exp error " + worst + " ulp at x = " + worstAt);
    }

    @Test
    void logisticExpIsWithinThreeUlpWhereItsValueIsANormalFloat() {
        // e^−x is a normal float for x in (−88.72, 87.33]; from −88.37 down logisticExp is
        // infinite by design, above 87.3 it stays at e^−87.3
        double worst = 0;
        float worstAt = 0;
        for (int sign = -1; sign <= 1; sign += 2) {
            float end = sign < 0 ? -88.37f : 87.3f;
            for (long bits = Float.floatToRawIntBits(Math.abs(end)); bits >= 0; bits -= STRIDE) {
                float x = sign * Float.intBitsToFloat((int) bits);
                double error = ulpError(VectorMath.logisticExp(x), x, t -> StrictMath.exp(-t));
                if (error > worst) {
                    worst = error;
                    worstAt = x;
                }
            }
        }
        System.out.printf("logisticExp: worst error %.3f ulp at x = %s%n", worst, worstAt);
        assertTrue(worst <= 3, "logisticExp error " + worst + " ulp at x = " + worstAt);
    }

    @Test
    void logisticExpSaturatesSoThatSiluAndSigmoidReachTheirLimits() {
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.logisticExp(-88.5f));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.logisticExp(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.logisticExp(-Float.MAX_VALUE));
        assertEquals(1f, VectorMath.logisticExp(0f));
        assertEquals(1f, VectorMath.logisticExp(-0f));
        assertTrue(Float.isNaN(VectorMath.logisticExp(Float.NaN)));
        for (float x : new float[] {87.3f, 88f, 200f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            float e = VectorMath.logisticExp(x);
            assertTrue(e > 0 && e < 1e-37f, "e^-" + x + " = " + e);
            // sigmoid 1 and SiLU x, exactly
            assertEquals(1f, 1f / (e + 1f));
        }
        for (float x : new float[] {-88.5f, -100f, -Float.MAX_VALUE}) {
            float e = VectorMath.logisticExp(x);
            assertEquals(0f, 1f / (e + 1f));
            assertEquals(-0f, x / (e + 1f));
        }
    }

    @Test
    void expAndTanhHandleInfinitiesAndNaN() {
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(88.7229f));
        assertEquals(0f, VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, VectorMath.exp(-104f));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        assertEquals(1f, VectorMath.exp(0f));
        assertEquals(1f, VectorMath.tanh(Float.POSITIVE_INFINITY));
        assertEquals(-1f, VectorMath.tanh(Float.NEGATIVE_INFINITY));
        assertEquals(-1f, VectorMath.tanh(-50f));
        assertTrue(Float.isNaN(VectorMath.tanh(Float.NaN)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(VectorMath.tanh(-0f)));
        assertEquals(Float.MIN_VALUE, VectorMath.tanh(Float.MIN_VALUE));
    }

    @Test
    void tanhIsWithinOneTenMillionthAndAFewUlpOfStrictMath() {
        double worstAbsolute = 0;
        double worstUlp = 0;
        float absoluteAt = 0;
        float ulpAt = 0;
        for (long bits = 0; bits <= Float.floatToRawIntBits(12f); bits += STRIDE) {
            for (float x : new float[] {Float.intBitsToFloat((int) bits),
                    -Float.intBitsToFloat((int) bits)}) {
                double reference = StrictMath.tanh(x);
                float got = VectorMath.tanh(x);
                double absolute = Math.abs(got - reference);
                double ulps = absolute / Math.ulp((float) reference);
                if (absolute > worstAbsolute) {
                    worstAbsolute = absolute;
                    absoluteAt = x;
                }
                if (ulps > worstUlp) {
                    worstUlp = ulps;
                    ulpAt = x;
                }
            }
        }
        System.out.printf("tanh: worst absolute error %.3g at x = %s, worst %.2f ulp at x = %s%n",
                worstAbsolute, absoluteAt, worstUlp, ulpAt);
        assertTrue(worstAbsolute <= 1e-7, "tanh absolute error " + worstAbsolute + " at "
                + absoluteAt);
        assertTrue(worstUlp <= 3, "tanh error " + worstUlp + " ulp at " + ulpAt);
    }

    @Test
    void vectorLanesMatchTheScalarFormBitForBitIncludingMaskedTails() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 400; round++) {
            int count = 1 + random.nextInt(5 * S.length());
            float[] x = new float[count];
            for (int i = 0; i < count; i++) {
                x[i] = switch (random.nextInt(5)) {
                    case 0 -> (float) (random.nextDouble() * 240 - 120);
                    case 1 -> (float) (random.nextDouble() * 2 - 1);
                    case 2 -> (float) ((random.nextDouble() - 0.5) * 1e-6);
                    case 3 -> SPECIAL[random.nextInt(SPECIAL.length)];
                    default -> Float.intBitsToFloat(random.nextInt());
                };
            }
            compareLanes(x, VectorMath::exp, "exp", seed);
            compareLanes(x, VectorMath::tanh, "tanh", seed);
        }
    }

    private static void compareLanes(float[] x, ScalarForm scalar, String name, long seed) {
        boolean exp = name.equals("exp");
        for (int i = 0; i < x.length; i += S.length()) {
            VectorMask<Float> lanes = S.indexInRange(i, x.length);
            FloatVector v = FloatVector.fromArray(S, x, i, lanes);
            float[] out = (exp ? VectorMath.exp(v) : VectorMath.tanh(v)).toArray();
            for (int lane = 0; lane < S.length() && i + lane < x.length; lane++) {
                float expected = scalar.apply(x[i + lane]);
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(out[lane]),
                        name + "(" + x[i + lane] + "): vector lane " + out[lane] + ", scalar "
                                + expected + " (seed " + seed + ")");
            }
        }
    }

    @FunctionalInterface
    private interface ScalarForm {
        float apply(float x);
    }

    private static double expUlpError(float x) {
        return ulpError(VectorMath.exp(x), x, StrictMath::exp);
    }

    /** The distance from the true value in units of the last place of its float rounding. */
    private static double ulpError(float got, float x, DoubleUnaryOperator reference) {
        double exact = reference.applyAsDouble(x);
        float rounded = (float) exact;
        if (Float.isInfinite(rounded)) {
            return got == rounded ? 0 : Double.POSITIVE_INFINITY;
        }
        return Math.abs(got - exact) / Math.ulp(rounded);
    }
}
