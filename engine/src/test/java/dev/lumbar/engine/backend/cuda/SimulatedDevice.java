package dev.lumbar.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.bindings.NativeLibraries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The simulated device for tests: stand-in libcuda, libcublas and libcudnn compiled with gcc
 * from {@code native-bindings/src/test/resources/mock} into a folder, found there through the
 * product's own discovery ({@code LUMBAR_CUDA_LIB_DIR}). Tests skip when gcc, cuda.h, the mock
 * sources or the built kernels are missing.
 */
public final class SimulatedDevice {

    private static final Path MOCKS = Path.of("..", "native-bindings", "src", "test",
            "resources", "mock");
    private static final Path CUDA_INCLUDE = Path.of("/usr/local/cuda/include");

    private SimulatedDevice() {
    }

    /** Builds the stand-in libraries into {@code dir}; returns discovery that finds them. */
    public static NativeLibraries build(Path dir) throws IOException, InterruptedException {
        assumeTrue(Files.isDirectory(MOCKS), "mock sources not found at " + MOCKS);
        assumeTrue(Files.isRegularFile(CUDA_INCLUDE.resolve("cuda.h")), "no cuda.h");
        assumeTrue(CudaKernels.fatbin().isPresent(), "kernels not built");
        compile(dir, "libcuda.so.1", "-I" + CUDA_INCLUDE, MOCKS.resolve("mock_cuda_driver.c"),
                MOCKS.resolve("mock_kernels.c"));
        compile(dir, "libcublas.so.12", null, MOCKS.resolve("mock_cublas.c"));
        compile(dir, "libcudnn.so.9", null, MOCKS.resolve("mock_cudnn.c"));
        return new NativeLibraries(Map.of(NativeLibraries.CUDA_LIB_DIR_VARIABLE, dir.toString()),
                List.of(), List.of());
    }

    private static void compile(Path dir, String library, String include, Path... sources)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gcc", "-shared", "-fPIC", "-O2",
                "-Wall", "-Wextra", "-Werror"));
        if (include != null) {
            command.add(include);
        }
        command.addAll(List.of("-o", dir.resolve(library).toString()));
        for (Path source : sources) {
            command.add(source.toString());
        }
        command.add("-lm");
        Process gcc;
        try {
            gcc = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no gcc: " + e.getMessage());
            return;
        }
        String output = new String(gcc.getInputStream().readAllBytes());
        assertTrue(gcc.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, gcc.exitValue(), library + " does not compile:\n" + output);
    }
}
