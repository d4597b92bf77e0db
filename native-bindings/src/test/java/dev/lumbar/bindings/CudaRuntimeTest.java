package dev.lumbar.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * Real calls into the CUDA runtime where one is installed (the toolkit ships it; no GPU or
 * driver is needed to load it), which exercises the binding machinery: out-parameters, C
 * strings and the status-to-exception mapping.
 */
class CudaRuntimeTest {

    private static CudaRuntime runtimeOrSkip() {
        Loaded<CudaRuntime> loaded = CudaRuntime.load(NativeLibraries.system());
        assumeTrue(loaded.ok(), "no CUDA runtime: " + loaded.reason());
        return loaded.binding().orElseThrow();
    }

    @Test
    void reportsItsVersion() {
        CudaRuntime runtime = runtimeOrSkip();

        int version = runtime.runtimeVersion();

        assertTrue(version >= 11000, "version " + version);
        assertTrue(CudaRuntime.formatVersion(version).matches("\\d+\\.\\d+"));
    }

    @Test
    void namesItsErrorCodes() {
        CudaRuntime runtime = runtimeOrSkip();

        assertEquals("cudaErrorNoDevice", runtime.errorName(CudaRuntime.CUDA_ERROR_NO_DEVICE));
        assertEquals("cudaErrorInsufficientDriver",
                runtime.errorName(CudaRuntime.CUDA_ERROR_INSUFFICIENT_DRIVER));
        assertTrue(runtime.errorString(CudaRuntime.CUDA_ERROR_NO_DEVICE).contains("device"));
    }

    @Test
    void deviceCountEitherCountsOrNamesTheCallAndTheReason() {
        CudaRuntime runtime = runtimeOrSkip();

        try {
            assertTrue(runtime.deviceCount() >= 0);
        } catch (CudaException e) {
            assertEquals("cudaGetDeviceCount", e.call());
            assertTrue(e.getMessage().startsWith("cudaGetDeviceCount failed: cudaError"),
                    e.getMessage());
            assertTrue(e.status() > 0);
        }
    }

    @Test
    void formatsVersionNumbersAsTheToolkitDoes() {
        assertEquals("12.4", CudaRuntime.formatVersion(12040));
        assertEquals("13.0", CudaRuntime.formatVersion(13000));
    }
}
