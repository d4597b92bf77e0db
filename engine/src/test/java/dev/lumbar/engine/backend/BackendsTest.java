package dev.lumbar.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.tensor.Device;
import org.junit.jupiter.api.Test;

class BackendsTest {

    private static boolean gpuPresent() {
        return CudaBackend.probe(NativeLibraries.system()).usable();
    }

    @Test
    void cpuIsAlwaysAvailable() {
        try (Backend backend = Backends.open("cpu", 1)) {
            assertEquals(Device.CPU, backend.device());
        }
    }

    @Test
    void autoFallsBackToTheCpuWithoutAGpu() {
        assumeFalse(gpuPresent(), "a GPU is present");
        try (Backend backend = Backends.open("auto", 1)) {
            assertEquals(Device.CPU, backend.device());
        }
    }

    @Test
    void cudaWithoutAGpuSaysWhy() {
        assumeFalse(gpuPresent(), "a GPU is present");

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Backends.open("cuda", 1));

        assertTrue(e.getMessage().startsWith("no usable GPU for --device cuda: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("driver"), e.getMessage());
    }

    @Test
    void probeWithoutAGpuExplainsTheMissingDriver() {
        assumeFalse(gpuPresent(), "a GPU is present");

        CudaBackend.Probe probe = CudaBackend.probe(NativeLibraries.system());

        assertTrue(probe.summary().contains("libcuda.so.1")
                || probe.summary().contains("CUDA_ERROR"), probe.summary());
    }

    @Test
    void unknownDeviceNamesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Backends.open("tpu", 1));
        assertThrows(IllegalArgumentException.class, () -> Backends.open("cuda:x", 1));
    }
}
