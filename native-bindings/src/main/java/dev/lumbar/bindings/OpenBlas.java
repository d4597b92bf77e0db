package dev.lumbar.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The few OpenBLAS entry points the CPU backend uses: {@code cblas_sgemm} and the thread-count
 * controls. The library is looked up once, on the first {@link #load()}: the file named by the
 * environment variable {@code LUMBAR_OPENBLAS} when it is set, else {@code libopenblas.so.0}
 * or {@code libopenblas.so} through the dynamic loader's search and then the usual library
 * folders. A missing library is an empty result and one warning, never an exception.
 *
 * <p>Pointers passed to {@link #sgemm} must be native (off-heap) segments. The thread count is
 * process-wide state inside OpenBLAS, so the last {@link #setThreads} wins.
 */
public final class OpenBlas {

    /** The environment variable that names the OpenBLAS shared library file to use. */
    public static final String ENV_PATH = "LUMBAR_OPENBLAS";

    private static final System.Logger LOG = System.getLogger(OpenBlas.class.getName());

    // CBLAS enum values (cblas.h): row-major order and the two transposition choices.
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private static final List<String> NAMES = List.of("libopenblas.so.0", "libopenblas.so");
    private static final List<String> FOLDERS = List.of(
            "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread",
            "/usr/lib64", "/usr/lib", "/usr/local/lib", "/opt/OpenBLAS/lib",
            "/opt/homebrew/opt/openblas/lib", "/usr/local/opt/openblas/lib");

    private final String source;
    private final MethodHandle sgemm;
    private final MethodHandle setNumThreads;
    private final MethodHandle getNumThreads;
    private final String config;

    private OpenBlas(String source, SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        this.source = source;
        this.sgemm = linker.downcallHandle(find(lookup, "cblas_sgemm"), FunctionDescriptor.ofVoid(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        this.setNumThreads = linker.downcallHandle(find(lookup, "openblas_set_num_threads"),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        this.getNumThreads = linker.downcallHandle(find(lookup, "openblas_get_num_threads"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT));
        MethodHandle getConfig = linker.downcallHandle(find(lookup, "openblas_get_config"),
                FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(
                        java.lang.foreign.MemoryLayout.sequenceLayout(4096,
                                ValueLayout.JAVA_BYTE))));
        String text;
        try {
            text = ((MemorySegment) getConfig.invokeExact()).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_get_config failed in " + source, t);
        }
        this.config = text.trim();
    }

    /** The library, loaded on first use; empty (with one logged warning) when none was found. */
    public static Optional<OpenBlas> load() {
        return Holder.INSTANCE;
    }

    /** Where the library was loaded from (a path or a loader name). */
    public String source() {
        return source;
    }

    /** OpenBLAS's own build description, e.g. {@code OpenBLAS 0.3.21 DYNAMIC_ARCH ... }. */
    public String config() {
        return config;
    }

    /** The version number from {@link #config()}, e.g. {@code 0.3.21}, or {@code ?}. */
    public String version() {
        String[] words = config.split("\\s+");
        return words.length > 1 && words[0].equals("OpenBLAS") ? words[1] : "?";
    }

    /** Sets the number of threads OpenBLAS uses for every following call (process-wide). */
    public void setThreads(int threads) {
        try {
            setNumThreads.invokeExact(threads);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads(" + threads + ") failed", t);
        }
    }

    public int threads() {
        try {
            return (int) getNumThreads.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_get_num_threads failed", t);
        }
    }

    /**
     * Row-major {@code C = alpha · op(A) · op(B) + beta · C} with {@code op(A)} of
     * {@code m × k} and {@code op(B)} of {@code k × n}; leading dimensions in elements.
     * Segments must be native and large enough; OpenBLAS does not check.
     */
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
            MemorySegment a, int lda, MemorySegment b, int ldb, float beta,
            MemorySegment c, int ldc) {
        checkSize("A", a, transA ? k : m, transA ? m : k, lda);
        checkSize("B", b, transB ? n : k, transB ? k : n, ldb);
        checkSize("C", c, m, n, ldc);
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm(m=" + m + ", n=" + n + ", k=" + k
                    + ") failed", t);
        }
    }

    private static void checkSize(String name, MemorySegment s, int rows, int cols, int ld) {
        if (rows == 0 || cols == 0) {
            return;
        }
        if (ld < cols) {
            throw new IllegalArgumentException("cblas_sgemm: leading dimension of " + name
                    + " is " + ld + " but a row holds " + cols + " elements");
        }
        long needed = ((long) (rows - 1) * ld + cols) * Float.BYTES;
        if (s.byteSize() < needed) {
            throw new IllegalArgumentException("cblas_sgemm: " + name + " holds " + s.byteSize()
                    + " bytes, " + needed + " needed for " + rows + "×" + cols + " (ld " + ld
                    + ")");
        }
        if (!s.isNative()) {
            throw new IllegalArgumentException("cblas_sgemm: " + name + " is not native memory");
        }
    }

    private static MemorySegment find(SymbolLookup lookup, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new IllegalStateException(
                "symbol " + symbol + " is missing"));
    }

    /** Loads lazily and exactly once; every failure is caught here, none escapes. */
    private static final class Holder {
        static final Optional<OpenBlas> INSTANCE = discover();
    }

    private static Optional<OpenBlas> discover() {
        String override = System.getenv(ENV_PATH);
        if (override != null && !override.isBlank()) {
            Optional<OpenBlas> lib = tryLoad(override.trim(), true);
            if (lib.isEmpty()) {
                LOG.log(System.Logger.Level.WARNING, "{0}={1} could not be loaded as OpenBLAS;"
                        + " using the engine''s own GEMM", ENV_PATH, override);
            }
            return lib;
        }
        List<String> candidates = new ArrayList<>(NAMES);
        for (String folder : FOLDERS) {
            for (String name : NAMES) {
                Path path = Path.of(folder, name);
                if (Files.isRegularFile(path)) {
                    candidates.add(path.toString());
                }
            }
        }
        for (String candidate : candidates) {
            Optional<OpenBlas> lib = tryLoad(candidate, false);
            if (lib.isPresent()) {
                return lib;
            }
        }
        LOG.log(System.Logger.Level.WARNING, "OpenBLAS not found (install libopenblas0 or set "
                + "{0} to the library file); using the engine''s own GEMM", ENV_PATH);
        return Optional.empty();
    }

    private static Optional<OpenBlas> tryLoad(String nameOrPath, boolean explicit) {
        try {
            SymbolLookup lookup = nameOrPath.contains("/")
                    ? SymbolLookup.libraryLookup(Path.of(nameOrPath), Arena.global())
                    : SymbolLookup.libraryLookup(nameOrPath, Arena.global());
            return Optional.of(new OpenBlas(nameOrPath, lookup));
        } catch (RuntimeException | LinkageError e) {
            LOG.log(explicit ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG,
                    "OpenBLAS candidate {0} unusable: {1}", nameOrPath, e.getMessage());
            return Optional.empty();
        }
    }
}
