package dev.lumbar.bench;

import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.GpuParity;
import dev.lumbar.engine.pipeline.BagGeometry;
import dev.lumbar.engine.pipeline.DeviceBagSampler;
import dev.lumbar.engine.pipeline.Normalisation;
import dev.lumbar.engine.pipeline.RoiSampler;
import dev.lumbar.engine.pipeline.RoiTarget;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The pipeline's device bag sampler against the CPU sampler: 25 targets on two stacks per
 * geometry (resize, asymmetric box, mirroring, levelling, even slice counts, adjacent channels,
 * each normalisation, flipped copies), all cut in one launch; the largest absolute difference
 * of any value must stay within 1e-5.
 */
final class BagSamplerCheck {

    static final double TOLERANCE = 1e-5;

    private BagSamplerCheck() {
    }

    static GpuParity.Result run(CudaBackend gpu, long seed) {
        Random random = new Random(seed);
        List<BagGeometry> geometries = List.of(
                new BagGeometry(5, 1, 3, BagGeometry.ChannelMode.REPEAT, 256, 256, 24, 40, 20,
                        12, true, false, 64, 64, Normalisation.MINMAX),
                new BagGeometry(4, 2, 3, BagGeometry.ChannelMode.ADJACENT, 0, 0, 30, 20, 16,
                        24, true, true, 48, 40, Normalisation.ZSCORE),
                new BagGeometry(3, 1, 1, BagGeometry.ChannelMode.REPEAT, 384, 192, 32, 32, 32,
                        32, false, true, 32, 32, Normalisation.window(-100, 900)));
        try (Tensor first = stack(random, 17, 384, 320); Tensor second = stack(random, 21, 256,
                256)) {
            List<DeviceBagSampler.Request> requests = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            long cpuStart = System.nanoTime();
            for (BagGeometry g : geometries) {
                for (int t = 0; t < 25; t++) {
                    Tensor stack = t % 2 == 0 ? first : second;
                    RoiTarget target = new RoiTarget(random.nextInt(stack.size(0)),
                            random.nextDouble() * stack.size(2),
                            random.nextDouble() * stack.size(1), random.nextDouble() - 0.5,
                            t % 3 == 0);
                    boolean flipped = t % 4 == 1;
                    requests.add(new DeviceBagSampler.Request(stack, target, g, flipped));
                    try (Tensor bag = RoiSampler.sample(stack, List.of(target), g)) {
                        float[] values = bag.toFloatArray();
                        expected.add(flipped ? flip(values, g.outCols()) : values);
                    }
                }
            }
            double cpuMillis = (System.nanoTime() - cpuStart) / 1e6;

            double worst = 0;
            long gpuStart = System.nanoTime();
            try (DeviceBagSampler.Cut cut = DeviceBagSampler.sample(gpu, requests)) {
                double gpuMillis = (System.nanoTime() - gpuStart) / 1e6;
                for (int r = 0; r < requests.size(); r++) {
                    try (Tensor host = gpu.download(cut.bags().get(r))) {
                        float[] got = host.toFloatArray();
                        float[] want = expected.get(r);
                        for (int i = 0; i < want.length; i++) {
                            worst = Math.max(worst, Math.abs(got[i] - want[i]));
                        }
                    }
                }
                return new GpuParity.Result("bag sampler vs RoiSampler (max abs)",
                        requests.size() + " bags", worst, TOLERANCE, cpuMillis, gpuMillis);
            }
        }
    }

    /** Smooth random slices with a step edge, values in the hundreds as MRI. */
    private static Tensor stack(Random random, int slices, int rows, int cols) {
        float[] voxels = new float[slices * rows * cols];
        for (int z = 0; z < slices; z++) {
            double a = random.nextDouble() * 0.1;
            double b = random.nextDouble() * 0.1;
            for (int y = 0; y < rows; y++) {
                for (int x = 0; x < cols; x++) {
                    voxels[(z * rows + y) * cols + x] = (float) (400 * Math.sin(a * x + b * y)
                            + (x > cols / 2 ? 300 : 0) + 20 * z);
                }
            }
        }
        return Tensor.of(voxels, slices, rows, cols);
    }

    private static float[] flip(float[] values, int width) {
        float[] flipped = new float[values.length];
        for (int row = 0; row < values.length; row += width) {
            for (int x = 0; x < width; x++) {
                flipped[row + x] = values[row + width - 1 - x];
            }
        }
        return flipped;
    }
}
