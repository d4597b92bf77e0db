package dev.lumbar.engine.backend.cpu;

import static dev.lumbar.engine.backend.cpu.Reference.assertSameBits;

import dev.lumbar.engine.backend.Conv2dSpec;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@code Convolutions.slidingSegment}, the channel-blocked depthwise row kernel that slides its
 * inputs through registers, against the tap-by-tap {@code rowSegment} it replaces where vectors
 * hold 16 floats: the same sums bit for bit, on any machine (which of the two a convolution
 * takes depends on the vector width; both run here). Kernels 1×1 to 7×7 and wider, vertical
 * dilation, padding that leaves whole kernel rows outside the plane, segments that run past a
 * row's end, and blocks with NaN, infinities and signed zeros among finite values.
 */
class SlidingSegmentTest {

    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    @Test
    void slidingSegmentsGiveTheBitsOfTapByTap() {
        SplittableRandom random = new SplittableRandom(14_014);
        for (int trial = 0; trial < 400; trial++) {
            int kh = 1 + random.nextInt(8);
            int kw = 1 + random.nextInt(8);
            int dilationH = 1 + random.nextInt(2);
            int h = 1 + random.nextInt(12);
            int w = 1 + random.nextInt(17);
            int padTop = random.nextInt(kh + 2);
            int padBottom = random.nextInt(kh + 2);
            int padLeft = random.nextInt(kw);
            int padRight = random.nextInt(kw);
            int c = 1 + random.nextInt(2 * L);
            Conv2dSpec spec = new Conv2dSpec(1, 1, padTop, padBottom, padLeft, padRight,
                    dilationH, 1, c);
            int outH = spec.outH(h, kh);
            int outW = spec.outW(w, kw);
            if (outH < 1 || outW < 1) {
                continue;
            }
            Convolutions.Geometry g = new Convolutions.Geometry(1, c, h, w, c, kh, kw, outH,
                    outW, spec);
            int paddedW = w + padLeft + padRight;
            int paddedH = h + padTop + padBottom;
            float[] block = values(random, (paddedH * paddedW + Convolutions.ROW_PIXELS) * L);
            int blocks = (c + L - 1) / L;
            float[] taps = values(random, blocks * kh * kw * L);
            float[] biases = values(random, blocks * L);
            int b = random.nextInt(blocks);
            int sumFloats = ((outH * outW + L - 1) / L * L + Convolutions.ROW_PIXELS) * L;
            float[] tapByTap = new float[sumFloats];
            float[] sliding = new float[sumFloats];
            for (int oy = 0; oy < outH; oy++) {
                for (int ox0 = 0; ox0 < outW; ox0 += Convolutions.ROW_PIXELS) {
                    Convolutions.rowSegment(g, block, taps, b * kh * kw * L, biases, b * L,
                            paddedW, tapByTap, oy, ox0);
                    Convolutions.slidingSegment(g, block, taps, b * kh * kw * L, biases,
                            b * L, paddedW, sliding, oy, ox0);
                }
            }
            assertSameBits(String.format("%d×%d kernel, dilation %d down, %d×%d plane, pads"
                    + " %d %d %d %d", kh, kw, dilationH, h, w, padTop, padBottom, padLeft,
                    padRight), tapByTap, sliding);
        }
    }

    /** Values in [-2, 2), with a few NaNs, infinities and zeros of either sign. */
    private static float[] values(SplittableRandom random, int size) {
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            int pick = random.nextInt(200);
            values[i] = switch (pick) {
                case 0 -> Float.NaN;
                case 1 -> Float.POSITIVE_INFINITY;
                case 2 -> Float.NEGATIVE_INFINITY;
                case 3 -> -0f;
                case 4 -> 0f;
                default -> (float) (random.nextDouble() * 4 - 2);
            };
        }
        return values;
    }
}
