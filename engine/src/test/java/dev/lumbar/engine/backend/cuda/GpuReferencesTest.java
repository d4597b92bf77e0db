package dev.lumbar.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lumbar.engine.tensor.Tensor;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Java twins the GPU kernels are checked against, checked themselves on cases whose
 * answer is known without them.
 */
class GpuReferencesTest {

    private static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 0.25f - 7;
        }
        return v;
    }

    @Test
    void roiSamplerWithTheWholeSliceAsBoxReproducesTheSlice() {
        int d = 3;
        int h = 6;
        int w = 8;
        float[] volume = ramp(d * h * w);
        var target = new CudaBackend.RoiTarget(0, d, h, w, 1, w / 2f, h / 2f, w / 2f, h / 2f,
                0f);

        float[] bag = GpuParity.roiReference(volume, List.of(target), 1, 1, h, w, 0);

        float[] slice = new float[h * w];
        System.arraycopy(volume, h * w, slice, 0, h * w);
        assertArrayEquals(slice, bag, 1e-5f);
    }

    @Test
    void negativeHalfWidthMirrorsTheBag() {
        int h = 4;
        int w = 6;
        float[] volume = ramp(h * w);
        var plain = new CudaBackend.RoiTarget(0, 1, h, w, 0, 3f, 2f, 3f, 2f, 0f);
        var mirrored = new CudaBackend.RoiTarget(0, 1, h, w, 0, 3f, 2f, -3f, 2f, 0f);

        float[] a = GpuParity.roiReference(volume, List.of(plain), 1, 1, h, w, 0);
        float[] b = GpuParity.roiReference(volume, List.of(mirrored), 1, 1, h, w, 0);

        for (int r = 0; r < h; r++) {
            for (int c = 0; c < w; c++) {
                assertEquals(a[r * w + c], b[r * w + (w - 1 - c)], 1e-5f);
            }
        }
    }

    @Test
    void slicesOutsideTheVolumeRepeatTheEdgeSlice() {
        float[] volume = {1, 2, 3};
        var target = new CudaBackend.RoiTarget(0, 3, 1, 1, 0, 0.5f, 0.5f, 0.5f, 0.5f, 0f);

        float[] bag = GpuParity.roiReference(volume, List.of(target), 5, 1, 1, 1, 0);

        assertArrayEquals(new float[] {1, 1, 1, 2, 3}, bag);
    }

    @Test
    void quarterTurnRotatesTheCrop() {
        int n = 5;
        float[] volume = ramp(n * n);
        var turned = new CudaBackend.RoiTarget(0, 1, n, n, 0, 2.5f, 2.5f, 2.5f, 2.5f,
                (float) (Math.PI / 2));

        float[] bag = GpuParity.roiReference(volume, List.of(turned), 1, 1, n, n, 0);

        // output (i, j) samples source x = cx - v, y = cy + u: column n-1-i, row j
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(volume[j * n + (n - 1 - i)], bag[i * n + j], 1e-4f);
            }
        }
    }

    @Test
    void minMaxNormalisationSpansZeroToOne() {
        float[] volume = ramp(16);
        var target = new CudaBackend.RoiTarget(0, 1, 4, 4, 0, 2f, 2f, 2f, 2f, 0f);

        float[] bag = GpuParity.roiReference(volume, List.of(target), 1, 1, 4, 4, 1);

        assertEquals(0f, bag[0], 1e-6f);
        assertEquals(1f, bag[15], 1e-6f);
    }

    @Test
    void attentionWithEqualScoresAverages() {
        float[] h = {1, 2, 3, 4, 5, 6};
        float[] w = {0, 0};

        float[][] out = GpuParity.attentionReference(h, w, 0.5f, 1, 3, 2);

        assertArrayEquals(new float[] {3, 4}, out[0], 1e-6f);
        assertArrayEquals(new float[] {1 / 3f, 1 / 3f, 1 / 3f}, out[1], 1e-6f);
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between two BF16 values; ties go to the even one (1.0).
        assertEquals(1f, GpuParity.bf16RoundTrip(1f + 0x1p-8f));
        assertEquals(1f + 0x1p-7f, GpuParity.bf16RoundTrip(1f + 0x1p-7f + 0x1p-9f));
        assertEquals(1f + 0x1p-6f, GpuParity.bf16RoundTrip(1f + 0x3p-8f));
    }

    @Test
    void nhwcReferencePermutesChannelsLast() {
        float[] nchw = {1, 2, 3, 10, 20, 30};

        assertArrayEquals(new float[] {1, 10, 2, 20, 3, 30},
                GpuParity.nhwcReference(nchw, 1, 2, 3));
    }

    @Test
    void relativeErrorIsNormwise() {
        assertEquals(0.1, GpuParity.relativeError(new float[] {1.1f, 0f},
                new float[] {1f, 0f}), 1e-6);
        assertEquals(Double.POSITIVE_INFINITY, GpuParity.relativeError(new float[] {Float.NaN},
                new float[] {1f}));
    }

    @Test
    void randomInputsAreReproducibleFromTheSeed() {
        try (Tensor a = GpuParity.randomTensor(new Random(7), 3, 4);
                Tensor b = GpuParity.randomTensor(new Random(7), 3, 4)) {
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
        }
    }
}
