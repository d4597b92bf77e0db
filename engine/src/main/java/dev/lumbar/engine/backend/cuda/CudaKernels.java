package dev.lumbar.engine.backend.cuda;

import dev.lumbar.bindings.CudaDriver;
import dev.lumbar.bindings.KernelArguments;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/** The kernels fatbin loaded as one module, with a function handle per {@link Kernel}. */
final class CudaKernels implements AutoCloseable {

    /** Where the kernels module puts the fatbin in its jar. */
    static final String RESOURCE = "/dev/lumbar/kernels/lumbar_kernels.fatbin";

    private final CudaDriver driver;
    private final MemorySegment module;
    private final Map<Kernel, MemorySegment> functions = new EnumMap<>(Kernel.class);

    private CudaKernels(CudaDriver driver, MemorySegment module) {
        this.driver = driver;
        this.module = module;
    }

    /** The fatbin bytes, or empty when the build had no nvcc. */
    static Optional<byte[]> fatbin() {
        try (InputStream in = CudaKernels.class.getResourceAsStream(RESOURCE)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
        }
    }

    /** Loads the module into the current context and looks up every kernel. */
    static CudaKernels load(CudaDriver driver) {
        byte[] image = fatbin().orElseThrow(() -> new IllegalStateException(
                "kernels not built: " + RESOURCE + " is missing from the class path (the "
                        + "build had no nvcc; install the CUDA toolkit and rebuild)"));
        MemorySegment module;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment copy = arena.allocate(image.length + 1L, 16);
            MemorySegment.copy(image, 0, copy, java.lang.foreign.ValueLayout.JAVA_BYTE, 0,
                    image.length);
            module = driver.moduleLoadData(copy);
        }
        CudaKernels kernels = new CudaKernels(driver, module);
        try {
            for (Kernel kernel : Kernel.values()) {
                kernels.functions.put(kernel, driver.moduleFunction(module, kernel.symbol()));
            }
        } catch (RuntimeException e) {
            kernels.close();
            throw e;
        }
        return kernels;
    }

    /** Launches {@code kernel} on {@code stream} with a one-dimensional grid and block. */
    void launch(Kernel kernel, int grid, int block, int sharedBytes, MemorySegment stream,
            KernelArguments arguments) {
        // A wrong argument list would make the kernel read garbage: refuse it here instead.
        if (!arguments.signature().equals(kernel.parameters())) {
            throw new IllegalArgumentException("kernel " + kernel.symbol() + " takes ("
                    + kernel.parameters() + ") but was given (" + arguments.signature() + ")");
        }
        try (Arena arena = Arena.ofConfined()) {
            driver.launch(functions.get(kernel), grid, 1, 1, block, 1, 1, sharedBytes, stream,
                    arguments.pack(arena));
        }
    }

    @Override
    public void close() {
        driver.moduleUnload(module);
    }
}
