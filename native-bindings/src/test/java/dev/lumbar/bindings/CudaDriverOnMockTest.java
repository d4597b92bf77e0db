package dev.lumbar.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver binding against a stand-in {@code libcuda.so.1} compiled here from
 * {@code mock/mock_cuda_driver.c} with the real {@code cuda.h} (skipped without gcc or the
 * header): one fake device whose memory is host memory. This exercises every kind of
 * argument the binding passes (out-parameters, sizes, device addresses, strings, handles) and
 * the status-to-exception mapping, on a machine without a GPU.
 */
class CudaDriverOnMockTest {

    private static final Path CUDA_INCLUDE = Path.of("/usr/local/cuda/include");

    @TempDir
    static Path dir;

    private static CudaDriver driver;
    private static Path library;

    @BeforeAll
    static void compileMock() throws IOException, InterruptedException {
        assumeTrue(Files.isRegularFile(CUDA_INCLUDE.resolve("cuda.h")), "no cuda.h");
        Path source = dir.resolve("mock_cuda_driver.c");
        try (InputStream in = CudaDriverOnMockTest.class.getResourceAsStream(
                "/mock/mock_cuda_driver.c")) {
            Files.copy(in, source);
        }
        library = dir.resolve("libcuda.so.1");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
                    "-I" + CUDA_INCLUDE, "-o", library.toString(), source.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no gcc: " + e.getMessage());
            return;
        }
        String output = new String(gcc.getInputStream().readAllBytes());
        assertTrue(gcc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, gcc.exitValue(), "the mock does not compile against cuda.h:\n" + output);

        NativeLibraries libraries = new NativeLibraries(
                Map.of("LUMBAR_CUDA_LIB_DIR", dir.toString()), List.of(), List.of());
        Loaded<CudaDriver> loaded = CudaDriver.load(libraries);
        assertTrue(loaded.ok(), loaded.reason());
        assertTrue(loaded.origin().contains("LUMBAR_CUDA_LIB_DIR"), loaded.origin());
        driver = loaded.binding().orElseThrow();
        driver.init();
    }

    @Test
    void bindsTheSymbolsTheHeaderMapsItsNamesTo() {
        // The mock defines unversioned names; cuda.h's macros chose the exported symbols.
        SymbolLookup symbols = SymbolLookup.libraryLookup(library, Arena.global());
        List<String> missing = new ArrayList<>();
        for (NativeFunction function : CudaDriver.functions()) {
            if (symbols.find(function.name()).isEmpty()) {
                missing.add(function.name());
            }
        }
        assertEquals(List.of(), missing);
    }

    @Test
    void describesTheDevice() {
        assertEquals(12040, driver.driverVersion());
        assertEquals(1, driver.deviceCount());
        int device = driver.device(0);
        assertEquals("Mock GPU", driver.deviceName(device));
        assertEquals(80L << 30, driver.deviceTotalMemory(device));
        assertEquals(90, driver.computeCapability(device));
        assertEquals(132, driver.deviceAttribute(
                CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device));
        long[] info = driver.memoryInfo();
        assertEquals(70L << 30, info[0]);
        assertEquals(80L << 30, info[1]);
    }

    @Test
    void copiesBytesThroughDeviceMemoryOnAStream() {
        int device = driver.device(0);
        MemorySegment context = driver.primaryContextRetain(device);
        driver.setCurrentContext(context);
        MemorySegment stream = driver.streamCreate(CudaDriver.CU_STREAM_NON_BLOCKING);
        long first = driver.malloc(64);
        long second = driver.malloc(64);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(64);
            for (int i = 0; i < 64; i++) {
                host.set(ValueLayout.JAVA_BYTE, i, (byte) i);
            }
            MemorySegment back = arena.allocate(64);

            driver.copyHostToDevice(first, host, 64);
            driver.copyDeviceToDeviceAsync(second, first, 64, stream);
            driver.memsetAsync(second, (byte) 0x7f, 8, stream);
            driver.copyDeviceToHostAsync(back, second, 64, stream);
            driver.streamSynchronize(stream);

            byte[] expected = host.toArray(ValueLayout.JAVA_BYTE);
            java.util.Arrays.fill(expected, 0, 8, (byte) 0x7f);
            assertArrayEquals(expected, back.toArray(ValueLayout.JAVA_BYTE));
        } finally {
            driver.free(first);
            driver.free(second);
            driver.streamDestroy(stream);
            driver.primaryContextRelease(device);
        }
    }

    @Test
    void pinnedHostMemoryIsReadableFromJava() {
        MemorySegment pinned = driver.hostAlloc(256, CudaDriver.CU_MEMHOSTALLOC_PORTABLE);
        try {
            assertEquals(256, pinned.byteSize());
            pinned.set(ValueLayout.JAVA_FLOAT, 252, 1.5f);
            assertEquals(1.5f, pinned.get(ValueLayout.JAVA_FLOAT, 252));
        } finally {
            driver.freeHost(pinned);
        }
    }

    @Test
    void eventsMeasureTheTimeBetweenThem() {
        MemorySegment stream = driver.streamCreate(CudaDriver.CU_STREAM_DEFAULT);
        MemorySegment start = driver.eventCreate(CudaDriver.CU_EVENT_DEFAULT);
        MemorySegment end = driver.eventCreate(CudaDriver.CU_EVENT_DEFAULT);
        driver.eventRecord(start, stream);
        driver.eventRecord(end, stream);
        driver.eventSynchronize(end);

        assertEquals(5f, driver.eventElapsedMillis(start, end));

        driver.eventDestroy(start);
        driver.eventDestroy(end);
        driver.streamDestroy(stream);
    }

    @Test
    void failedCallsNameTheCallAndTheDriversText() {
        CudaException badDevice = assertThrows(CudaException.class, () -> driver.device(3));
        assertEquals("cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE (101): invalid device "
                + "ordinal", badDevice.getMessage());
        assertEquals(CudaDriver.CUDA_ERROR_INVALID_DEVICE, badDevice.status());

        CudaException tooBig = assertThrows(CudaException.class,
                () -> driver.malloc(8L << 30));
        assertEquals("cuMemAlloc_v2(8589934592 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): "
                + "out of memory", tooBig.getMessage());

        try (Arena arena = Arena.ofConfined()) {
            CudaException noImage = assertThrows(CudaException.class,
                    () -> driver.moduleLoadData(arena.allocate(16)));
            assertEquals("cuModuleLoadData", noImage.call());
            assertTrue(noImage.getMessage().contains("CUDA_ERROR_NO_BINARY_FOR_GPU (209)"),
                    noImage.getMessage());
        }
    }

    @Test
    void unknownStatusCodesStillProduceAMessage() {
        assertEquals("unknown CUresult 12345", driver.errorName(12345));
    }
}
