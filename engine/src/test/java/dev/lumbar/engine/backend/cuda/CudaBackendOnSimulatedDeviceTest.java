package dev.lumbar.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.CudaException;
import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The whole Java side of the CUDA backend (library loading, the module and its kernels,
 * argument lists, memory, cuDNN plans and workspaces, the column-major GEMM calls, the 16-bit
 * paths) on a simulated device: stand-in libcuda, libcublas and libcudnn built here from
 * {@code native-bindings/src/test/resources/mock}, whose kernels, GEMM and convolution run on
 * the host as their specifications say. The results must match the CPU backend as a real GPU
 * must. What this cannot check is the CUDA C itself; the GPU check does that.
 */
class CudaBackendOnSimulatedDeviceTest {

    @TempDir
    static Path dir;

    private static NativeLibraries libraries;

    @BeforeAll
    static void buildSimulatedDevice() throws IOException, InterruptedException {
        libraries = SimulatedDevice.build(dir);
    }

    private static CudaBackend open(CudaOptions.Precision precision, long limit) {
        return CudaBackend.open(new CudaOptions(0, precision, true, limit), libraries);
    }

    @Test
    void opensTheSimulatedDevice() {
        try (CudaBackend gpu = open(CudaOptions.Precision.F32, 0)) {
            assertEquals(Device.cuda(0), gpu.device());
            assertTrue(gpu.name().startsWith("cuda (Mock GPU, F32"), gpu.name());
        }
    }

    @ParameterizedTest
    @EnumSource(value = CudaOptions.Precision.class)
    void everyOperationMatchesTheCpuBackend(CudaOptions.Precision precision) {
        long seed = 20241;
        try (CudaBackend gpu = open(precision, 0); CpuBackend cpu = new CpuBackend(1)) {
            GpuParity parity = new GpuParity(gpu, cpu, seed, 1);
            List<GpuParity.Result> results = parity.runAll();
            if (precision == CudaOptions.Precision.F32) {
                results = parity.runGpuOnly();
            }
            List<GpuParity.Result> failed = results.stream().filter(r -> !r.passed()).toList();
            assertEquals(List.of(), failed, GpuParity.table(results, gpu.name()));
            assertEquals(0, gpu.memoryUse()[0], "every temporary went back to the cache");
        }
    }

    @Test
    void smallEncodersMatchTheCpuBackend() {
        try (CudaBackend gpu = open(CudaOptions.Precision.F32, 0);
                CpuBackend cpu = new CpuBackend(1)) {
            GpuParity parity = new GpuParity(gpu, cpu, 77, 1);
            parity.runBackbone("convnext_atto", Map.of("depths", List.of(1, 1, 1, 1),
                    "dims", List.of(8, 16, 24, 32)), 2, 32);
            List<GpuParity.Result> results = parity.runBackbone("tf_efficientnetv2_s",
                    Map.of("channel_multiplier", 0.25, "depth_multiplier", 0.25), 2, 32);

            // The simulated driver cannot capture graphs: those rows say so; the rest match.
            List<GpuParity.Result> forwards = results.stream()
                    .filter(r -> r.operation().endsWith(" forward")).toList();
            assertEquals(2, forwards.size(), GpuParity.table(results, gpu.name()));
            assertEquals(List.of(), forwards.stream().filter(r -> !r.passed()).toList(),
                    GpuParity.table(results, gpu.name()));
            assertTrue(results.stream().anyMatch(r -> r.operation().startsWith(
                    "convnext_atto graph: cuStreamBeginCapture_v2 failed")),
                    GpuParity.table(results, gpu.name()));
        }
    }

    @Test
    void memoryLimitIsEnforcedWithAClearMessage() {
        try (CudaBackend gpu = open(CudaOptions.Precision.F32, 1 << 20);
                Tensor host = Tensor.zeros(1, 64, 64, 128)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> gpu.upload(host));
            assertTrue(e.getMessage().startsWith("device memory limit of 1 MiB reached"),
                    e.getMessage());
        }
    }

    @Test
    void failedCaptureLeavesTheBackendUsable() {
        try (CudaBackend gpu = open(CudaOptions.Precision.F32, 0);
                Tensor host = Tensor.of(new float[] {-1, 2, -3, 4}, 1, 1, 2, 2);
                Tensor x = gpu.upload(host)) {
            // The simulated driver cannot capture graphs; the real one can.
            CudaException e = assertThrows(CudaException.class,
                    () -> gpu.capture(x, t -> gpu.activate(t, Activation.RELU)));
            assertEquals("cuStreamBeginCapture_v2", e.call());

            try (Tensor y = gpu.activate(x, Activation.RELU); Tensor back = gpu.download(y)) {
                assertEquals(List.of(0f, 2f, 0f, 4f), boxed(back.toFloatArray()));
            }
        }
    }

    @Test
    void tensorsFromAnotherDeviceAreRefused() {
        try (CudaBackend gpu = open(CudaOptions.Precision.F32, 0);
                Tensor host = Tensor.zeros(1, 1, 2, 2);
                Tensor weight = Tensor.zeros(1, 1, 1, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> gpu.conv2d(host, weight, null, Conv2dSpec.symmetric(1, 0, 1, 1),
                            Activation.IDENTITY));
            assertTrue(e.getMessage().contains("is not on cuda:0"), e.getMessage());
        }
    }

    /** A device-to-device copy holds the same values and is a tensor of its own. */
    @Test
    void copyOnTheDeviceIsAnIndependentEqualTensor() {
        float[] values = {1f, -2.5f, Float.MIN_VALUE, Float.NaN, 3e38f, -0f};
        try (CudaBackend gpu = open(CudaOptions.Precision.F32, 0);
                Tensor host = Tensor.of(values, 2, 3);
                Tensor x = gpu.upload(host);
                Tensor copy = gpu.copy(x);
                Tensor back = gpu.download(copy)) {
            assertEquals(List.of(2L, 3L), List.of(copy.shape()[0], copy.shape()[1]));
            assertTrue(copy.segment().address() != x.segment().address(), "not a new tensor");
            org.junit.jupiter.api.Assertions.assertArrayEquals(values, back.toFloatArray());
        }
    }

    /**
     * Every operation handed one tensor that is not on the device refuses it and keeps no
     * device memory, whichever argument it is and however far the operation got (outputs,
     * padding, 16-bit copies, staged tables) before it looked at that argument.
     */
    @ParameterizedTest
    @EnumSource(value = CudaOptions.Precision.class, names = {"F32", "F16"})
    void refusedInputsLeaveNoDeviceMemory(CudaOptions.Precision precision) {
        try (CudaBackend gpu = open(precision, 0);
                Tensor image = Tensor.of(new float[2 * 4 * 6 * 6], 2, 4, 6, 6);
                Tensor x = gpu.upload(image);
                Tensor weight = uploaded(gpu, 8, 4, 3, 3);
                Tensor hostWeight = Tensor.zeros(8, 4, 3, 3);
                Tensor channels = uploaded(gpu, 4);
                Tensor hostChannels = Tensor.zeros(4);
                Tensor matrix = uploaded(gpu, 3, 4);
                Tensor hostMatrix = Tensor.zeros(3, 4);
                Tensor rows = uploaded(gpu, 2, 5, 4);
                Tensor hostRows = Tensor.zeros(2, 5, 4);
                Tensor seReduce = uploaded(gpu, 2, 4);
                Tensor hostSeExpand = Tensor.zeros(4, 2);
                Tensor one = uploaded(gpu, 1);
                Tensor hostBias = Tensor.zeros(8);
                Tensor hostLinearBias = Tensor.zeros(3)) {
            Conv2dSpec same = Conv2dSpec.symmetric(1, 1, 1, 1);
            Conv2dSpec asymmetric = new Conv2dSpec(2, 2, 0, 1, 0, 1, 1, 1, 1);
            Map<String, Runnable> calls = new java.util.LinkedHashMap<>();
            calls.put("copy", () -> gpu.copy(image));
            calls.put("download", () -> gpu.download(image));
            calls.put("conv2d input", () -> gpu.conv2d(image, weight, null, same,
                    Activation.IDENTITY));
            calls.put("conv2d weight", () -> gpu.conv2d(x, hostWeight, null, same,
                    Activation.IDENTITY));
            calls.put("conv2d weight after padding", () -> gpu.conv2d(x, hostWeight, null,
                    asymmetric, Activation.IDENTITY));
            calls.put("conv2d bias", () -> gpu.conv2d(x, weight, hostBias, same,
                    Activation.SILU));
            calls.put("linear weight", () -> gpu.linear(rows, hostMatrix, null,
                    Activation.IDENTITY));
            calls.put("linear bias", () -> gpu.linear(rows, matrix, hostLinearBias,
                    Activation.GELU));
            calls.put("matmul", () -> gpu.matmul(rows, hostRows.reshape(2, 4, 5)));
            calls.put("activate", () -> gpu.activate(image, Activation.SILU));
            calls.put("add", () -> gpu.add(x, image));
            calls.put("scaleChannels", () -> gpu.scaleChannels(x, hostChannels, null));
            calls.put("scaleChannels residual", () -> gpu.scaleChannels(x, channels, image));
            calls.put("layerNormLastDim", () -> gpu.layerNormLastDim(rows, hostChannels,
                    channels, 1e-6f));
            calls.put("layerNormChannels", () -> gpu.layerNormChannels(x, channels,
                    hostChannels, 1e-6f));
            calls.put("squeezeExcite", () -> gpu.squeezeExcite(x, seReduce, null,
                    hostSeExpand, null, Activation.SILU));
            calls.put("globalAvgPool", () -> gpu.globalAvgPool(image));
            calls.put("softmax", () -> gpu.softmax(hostRows));
            calls.put("attentionPool", () -> gpu.attentionPool(rows, hostChannels, one));
            calls.put("sampleBags", () -> gpu.sampleBags(image, List.of(new CudaBackend.BagCut(
                    0, 6, 6, new int[] {0, 1}, 4, 4, new double[] {0, 1, 0, 0, 0, 1}, 0, 0,
                    1))));
            calls.put("nchwToNhwc", () -> gpu.nchwToNhwc(image));
            calls.put("nhwcToNchw", () -> gpu.nhwcToNchw(image));
            // The 16-bit copies of the weights are kept on purpose: make them first.
            gpu.conv2d(x, weight, null, same, Activation.IDENTITY).close();
            gpu.linear(rows, matrix, null, Activation.IDENTITY).close();
            long before = gpu.memoryUse()[0];
            List<String> kept = new ArrayList<>();
            for (Map.Entry<String, Runnable> call : calls.entrySet()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> call.getValue().run(), call.getKey());
                assertTrue(e.getMessage().contains("is not on cuda:0"),
                        call.getKey() + ": " + e.getMessage());
                if (gpu.memoryUse()[0] != before) {
                    kept.add(call.getKey() + " kept " + (gpu.memoryUse()[0] - before) + " B");
                    before = gpu.memoryUse()[0];
                }
            }
            assertEquals(List.of(), kept, "device memory kept by refused calls");
        }
    }

    private static Tensor uploaded(CudaBackend gpu, long... shape) {
        try (Tensor host = Tensor.zeros(shape)) {
            return gpu.upload(host);
        }
    }

    private static List<Float> boxed(float[] values) {
        List<Float> out = new ArrayList<>();
        for (float v : values) {
            out.add(v);
        }
        return out;
    }
}
