package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.CudaOptions;
import dev.lumbar.engine.backend.cuda.SimulatedDevice;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device sampler against the CPU sampler on the simulated device (whose kernels run on the
 * host with the arithmetic the CUDA C specifies): every geometry the manifest can express, cut
 * from two stacks in one launch, must give the CPU's bags within 1e-5.
 */
class DeviceBagSamplerTest {

    @TempDir
    static Path dir;

    private static NativeLibraries libraries;

    @BeforeAll
    static void buildSimulatedDevice() throws IOException, InterruptedException {
        libraries = SimulatedDevice.build(dir);
    }

    /** A smooth random stack with an edge, so that bilinear weights matter. */
    private static Tensor stack(long seed, int slices, int rows, int cols) {
        Random random = new Random(seed);
        float[] voxels = new float[slices * rows * cols];
        for (int z = 0; z < slices; z++) {
            double a = random.nextDouble() * 0.2;
            double b = random.nextDouble() * 0.2;
            for (int y = 0; y < rows; y++) {
                for (int x = 0; x < cols; x++) {
                    voxels[(z * rows + y) * cols + x] = (float) (300 * Math.sin(a * x + b * y)
                            + (x > cols / 2 ? 200 : 0) + 50 * z + random.nextGaussian());
                }
            }
        }
        return Tensor.of(voxels, slices, rows, cols);
    }

    private static List<BagGeometry> geometries() {
        return List.of(
                // resized, asymmetric box, repeated channels, min-max
                new BagGeometry(5, 1, 3, BagGeometry.ChannelMode.REPEAT, 256, 192, 21, 35, 18,
                        9.5, false, false, 24, 32, Normalisation.MINMAX),
                // even slice count with a step, adjacent channels, levelled, mirrored flips
                new BagGeometry(4, 2, 3, BagGeometry.ChannelMode.ADJACENT, 0, 0, 12, 20, 10,
                        14, true, true, 20, 16, Normalisation.ZSCORE),
                // anisotropic resize with levelling, a window
                new BagGeometry(3, 1, 1, BagGeometry.ChannelMode.REPEAT, 100, 300, 30, 30, 15,
                        25, true, true, 16, 16, Normalisation.window(-100, 600)));
    }

    @Test
    void cutsTheCpuSamplersBagsInOneLaunch() {
        Random random = new Random(1234);
        try (Tensor first = stack(1, 9, 64, 80); Tensor second = stack(2, 6, 72, 50);
                CudaBackend gpu = CudaBackend.open(new CudaOptions(0,
                        CudaOptions.Precision.F32, true, 0), libraries)) {
            List<DeviceBagSampler.Request> requests = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (BagGeometry g : geometries()) {
                for (Tensor stack : List.of(first, second)) {
                    for (boolean mirrored : new boolean[] {false, true}) {
                        // points near the edge too, so zero padding is exercised
                        RoiTarget target = new RoiTarget(random.nextInt(stack.size(0)),
                                random.nextDouble() * stack.size(2),
                                random.nextDouble() * stack.size(1),
                                random.nextDouble() - 0.5, mirrored);
                        for (boolean flipped : new boolean[] {false, true}) {
                            requests.add(new DeviceBagSampler.Request(stack, target, g,
                                    flipped));
                            try (Tensor bag = RoiSampler.sample(stack, List.of(target), g)) {
                                expected.add(flipped
                                        ? flip(bag).toFloatArray() : bag.toFloatArray());
                            }
                        }
                    }
                }
            }

            try (DeviceBagSampler.Cut cut = DeviceBagSampler.sample(gpu, requests)) {
                assertEquals(requests.size(), cut.bags().size());
                for (int r = 0; r < requests.size(); r++) {
                    Tensor onDevice = cut.bags().get(r);
                    BagGeometry g = requests.get(r).geometry();
                    assertArrayEquals(new long[] {g.slices(), g.channels(), g.outRows(),
                        g.outCols()}, onDevice.shape());
                    assertEquals(gpu.device(), onDevice.device());
                    float[] got;
                    try (Tensor host = gpu.download(onDevice)) {
                        got = host.toFloatArray();
                    }
                    float[] want = expected.get(r);
                    double worst = 0;
                    for (int i = 0; i < want.length; i++) {
                        worst = Math.max(worst, Math.abs(got[i] - want[i]));
                    }
                    assertTrue(worst <= 1e-5, "bag " + r + " (" + g + ", " + requests.get(r)
                            .target() + ") differs by " + worst);
                }
            }
            assertEquals(0, gpu.memoryUse()[0], "the stacks and bags went back to the cache");
        }
    }

    private static Tensor flip(Tensor bag) {
        return EnsembleGrader.flipLeftRight(bag);
    }
}
