package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.tensor.Tensor;
import java.util.SplittableRandom;

/** Straightforward double-precision versions of the backend's operations, and comparisons. */
final class Reference {

    private Reference() {
    }

    static Tensor random(SplittableRandom random, double lo, double hi, long... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        return Tensor.of(values, shape);
    }

    /** Direct NCHW convolution with zero padding. */
    static double[] conv2d(float[] x, long[] xs, float[] w, long[] ws, float[] bias,
            Conv2dSpec s, Activation act) {
        int n = (int) xs[0], c = (int) xs[1], h = (int) xs[2], wd = (int) xs[3];
        int o = (int) ws[0], cg = (int) ws[1], kh = (int) ws[2], kw = (int) ws[3];
        int og = o / s.groups();
        int outH = s.outH(h, kh), outW = s.outW(wd, kw);
        double[] y = new double[n * o * outH * outW];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < o; oc++) {
                int g = oc / og;
                for (int oy = 0; oy < outH; oy++) {
                    for (int ox = 0; ox < outW; ox++) {
                        double acc = bias == null ? 0 : bias[oc];
                        for (int ci = 0; ci < cg; ci++) {
                            int ic = g * cg + ci;
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * s.strideH() - s.padTop() + ky * s.dilationH();
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * s.strideW() - s.padLeft() + kx * s.dilationW();
                                    if (ix < 0 || ix >= wd) {
                                        continue;
                                    }
                                    acc += (double) x[((b * c + ic) * h + iy) * wd + ix]
                                            * w[((oc * cg + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        y[((b * o + oc) * outH + oy) * outW + ox] = activate(acc, act);
                    }
                }
            }
        }
        return y;
    }

    /** {@code [m, k] × [k, n]} in double. */
    static double[] matmul(float[] a, float[] b, int m, int k, int n) {
        double[] y = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    acc += (double) a[i * k + p] * b[p * n + j];
                }
                y[i * n + j] = acc;
            }
        }
        return y;
    }

    static double activate(double x, Activation act) {
        return switch (act) {
            case IDENTITY -> x;
            case RELU -> Math.max(0, x);
            case GELU -> x * normalCdf(x);
            case SILU -> x / (1 + Math.exp(-x));
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.tanh(x);
        };
    }

    /** Φ(x) = erfc(−x/√2) / 2, accurate in both tails. */
    static double normalCdf(double x) {
        double z = -x / Math.sqrt(2);
        return z >= 0 ? 0.5 * erfc(z) : 1 - 0.5 * erfc(-z);
    }

    /**
     * erfc for {@code x >= 0}: below 2.5 as 1 − erf with erf from its everywhere-positive
     * series {@code 2/√π · e^{−x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))}; above by the
     * continued fraction
     * {@code e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))}.
     */
    static double erfc(double x) {
        if (x < 2.5) {
            double term = x;
            double sum = x;
            for (int n = 1; n < 200 && term > 1e-18 * sum; n++) {
                term *= 2 * x * x / (2 * n + 1);
                sum += term;
            }
            return 1 - 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
        }
        double t = x;
        for (int n = 120; n >= 1; n--) {
            t = x + (n / 2.0) / t;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
    }

    /**
     * A squeeze-excite gate per image and channel ({@code [n, c]}): {@code sigmoid(We · act(Wr
     * · mean(x) + br) + be)}, the weights {@code [reduced, c]} and {@code [c, reduced]}.
     */
    static double[] squeezeExciteGate(float[] xs, int n, int c, int plane, float[] rws,
            float[] rbs, float[] ews, float[] ebs, int reduced, Activation act) {
        double[] gate = new double[n * c];
        for (int b = 0; b < n; b++) {
            double[] mean = new double[c];
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < plane; p++) {
                    mean[ch] += xs[(b * c + ch) * plane + p] / (double) plane;
                }
            }
            double[] hidden = new double[reduced];
            for (int r = 0; r < reduced; r++) {
                double acc = rbs[r];
                for (int ch = 0; ch < c; ch++) {
                    acc += (double) rws[r * c + ch] * mean[ch];
                }
                hidden[r] = activate(acc, act);
            }
            for (int ch = 0; ch < c; ch++) {
                double acc = ebs[ch];
                for (int r = 0; r < reduced; r++) {
                    acc += (double) ews[ch * reduced + r] * hidden[r];
                }
                gate[b * c + ch] = activate(acc, Activation.SIGMOID);
            }
        }
        return gate;
    }

    /** The values widened, to compare one float result against another as a reference. */
    static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    /** Largest absolute difference over the largest reference magnitude. */
    static void assertClose(String what, double[] expected, float[] actual, double tolerance) {
        assertTrue(expected.length == actual.length, what + ": " + actual.length
                + " values, expected " + expected.length);
        double scale = 1e-30;
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            if (!(diff <= worst) || Double.isNaN(actual[i])) {
                worst = Double.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : diff;
                at = i;
            }
        }
        double relative = worst / scale;
        assertTrue(relative <= tolerance, what + ": relative error " + relative + " at " + at
                + " (expected " + (at < 0 ? 0 : expected[at]) + ", got "
                + (at < 0 ? 0 : actual[at]) + ")");
    }

    /** Every element within {@code tolerance} of its own magnitude. */
    static void assertElementwise(String what, double[] expected, float[] actual,
            double tolerance, double floor) {
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            assertTrue(diff <= tolerance * Math.max(floor, Math.abs(expected[i])),
                    what + ": element " + i + " expected " + expected[i] + ", got " + actual[i]
                            + " (relative " + diff / Math.abs(expected[i]) + ")");
        }
    }

    /**
     * The same bits, every NaN counted as one: which operand's NaN an operation passes on (its
     * sign) depends on the order the compiler gives the operands of a commutative one.
     */
    static void assertSameBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
                    what + ": element " + i + " expected " + expected[i] + ", got " + actual[i]);
        }
    }

    /** NaN where exactly the reference has NaN, the same infinities, the rest close. */
    static void assertSameSpecials(String what, double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            float a = actual[i];
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                assertEquals((float) e, a, what + ": element " + i);
            } else {
                assertTrue(Math.abs(e - a) <= 1e-5 * Math.max(1, Math.abs(e)),
                        what + ": element " + i + " expected " + e + ", got " + a);
            }
        }
    }
}
