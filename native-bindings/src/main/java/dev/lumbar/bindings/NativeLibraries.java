package dev.lumbar.bindings;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds native libraries on disk and opens them.
 *
 * <p>Search order for a library: its own override variable ({@code LUMBAR_CUDNN},
 * {@code LUMBAR_CUBLAS}: a file, or a folder holding it), then {@code LUMBAR_CUDA_LIB_DIR} for
 * the CUDA libraries, then the usual system and CUDA toolkit folders, the folders of
 * {@code LD_LIBRARY_PATH}, and finally the {@code nvidia/*\/lib} folders of Python
 * installations (a PyTorch virtual environment ships cuDNN and cuBLAS there). An override that
 * names a missing file is reported as such rather than silently replaced by another copy.
 *
 * <p>Nothing here throws for a missing library: {@link #locate} says where it looked, and
 * {@link #open} returns the reason in its {@link Opened} result.
 */
public final class NativeLibraries {

    /** The folder searched for every CUDA library before the system folders. */
    public static final String CUDA_LIB_DIR_VARIABLE = "LUMBAR_CUDA_LIB_DIR";

    private static final List<Path> SYSTEM_DIRS = List.of(
            Path.of("/usr/lib/x86_64-linux-gnu"),
            Path.of("/usr/lib64"),
            Path.of("/usr/lib"),
            Path.of("/usr/local/lib"),
            Path.of("/usr/local/cuda/lib64"),
            Path.of("/usr/local/cuda/targets/x86_64-linux/lib"),
            Path.of("/usr/lib/wsl/lib"),
            // where NVIDIA's container runtime mounts the driver
            Path.of("/usr/local/nvidia/lib64"),
            Path.of("/usr/local/nvidia/lib"));

    private static final System.Logger LOG = System.getLogger(NativeLibraries.class.getName());

    private final Map<String, String> env;
    private final List<Path> systemDirs;
    private final List<Path> pythonPrefixes;

    /**
     * @param env            environment variables to honour
     * @param systemDirs     folders searched after the overrides, in order
     * @param pythonPrefixes installation prefixes whose {@code lib/python3*\/site-packages} (and
     *                       {@code dist-packages}) are searched for {@code nvidia/*\/lib}
     */
    public NativeLibraries(Map<String, String> env, List<Path> systemDirs,
            List<Path> pythonPrefixes) {
        this.env = Map.copyOf(env);
        this.systemDirs = List.copyOf(systemDirs);
        this.pythonPrefixes = List.copyOf(pythonPrefixes);
    }

    /** Discovery as configured by this process's environment and the usual locations. */
    public static NativeLibraries system() {
        Map<String, String> env = System.getenv();
        List<Path> prefixes = new ArrayList<>();
        for (String variable : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String value = env.get(variable);
            if (value != null && !value.isBlank()) {
                prefixes.add(Path.of(value));
            }
        }
        prefixes.add(Path.of(System.getProperty("user.home"), ".local"));
        prefixes.addAll(children(Path.of("/opt")));
        for (Path opt : children(Path.of("/opt"))) {
            prefixes.addAll(children(opt.resolve("envs")));
        }
        prefixes.add(Path.of("/usr/local"));
        prefixes.add(Path.of("/usr"));
        return new NativeLibraries(env, SYSTEM_DIRS, prefixes);
    }

    /** Where a library was found, or why not, with every place that was tried. */
    public record Located(Library library, Optional<Path> path, String how, List<Path> tried) {

        public Located {
            tried = List.copyOf(tried);
        }

        public boolean found() {
            return path.isPresent();
        }
    }

    /** An opened library, or the reason it could not be opened. */
    public record Opened(Library library, Optional<SymbolLookup> symbols, String origin,
            String reason) {

        public boolean ok() {
            return symbols.isPresent();
        }
    }

    /** Looks for {@code library} on disk without opening it. */
    public Located locate(Library library) {
        List<Path> tried = new ArrayList<>();

        String overrideVariable = library.overrideVariable();
        String override = overrideVariable == null ? null : env.get(overrideVariable);
        if (override != null && !override.isBlank()) {
            Path named = Path.of(override.trim());
            if (Files.isRegularFile(named)) {
                if (library == Library.CUBLAS_LT) {
                    // LUMBAR_CUBLAS names the cuBLAS file; cuBLASLt is its sibling.
                    Optional<Path> sibling = findIn(named.getParent(), library, tried);
                    if (sibling.isPresent()) {
                        return new Located(library, sibling, "beside " + overrideVariable,
                                tried);
                    }
                } else {
                    return new Located(library, Optional.of(named), overrideVariable, tried);
                }
            } else if (Files.isDirectory(named)) {
                Optional<Path> inDir = findIn(named, library, tried);
                if (inDir.isPresent()) {
                    return new Located(library, inDir, overrideVariable, tried);
                }
                return new Located(library, Optional.empty(), overrideVariable + "=" + named
                        + " holds none of " + library.fileNames(), tried);
            } else {
                tried.add(named);
                return new Located(library, Optional.empty(), overrideVariable + "=" + named
                        + " does not exist", tried);
            }
        }

        if (library.partOfCuda()) {
            String cudaDir = env.get(CUDA_LIB_DIR_VARIABLE);
            if (cudaDir != null && !cudaDir.isBlank()) {
                Optional<Path> inDir = findIn(Path.of(cudaDir.trim()), library, tried);
                if (inDir.isPresent()) {
                    return new Located(library, inDir, CUDA_LIB_DIR_VARIABLE, tried);
                }
            }
        }

        for (Path dir : systemDirs) {
            Optional<Path> inDir = findIn(dir, library, tried);
            if (inDir.isPresent()) {
                return new Located(library, inDir, "system folder", tried);
            }
        }

        String ldPath = env.get("LD_LIBRARY_PATH");
        if (ldPath != null) {
            for (String entry : ldPath.split(":")) {
                if (!entry.isBlank()) {
                    Optional<Path> inDir = findIn(Path.of(entry), library, tried);
                    if (inDir.isPresent()) {
                        return new Located(library, inDir, "LD_LIBRARY_PATH", tried);
                    }
                }
            }
        }

        if (library.partOfCuda() && library != Library.CUDA_DRIVER) {
            for (Path dir : pythonNvidiaLibDirs()) {
                Optional<Path> inDir = findIn(dir, library, tried);
                if (inDir.isPresent()) {
                    return new Located(library, inDir, "Python site-packages", tried);
                }
            }
        }

        return new Located(library, Optional.empty(), "none of " + library.fileNames()
                + " in " + tried.size() + " folders searched"
                + (library.overrideVariable() == null ? ""
                        : "; set " + library.overrideVariable() + " to its path"), tried);
    }

    /**
     * Opens {@code library}: the file {@link #locate} finds, else the dynamic loader's own
     * search by file name (its cache knows libraries installed by a package manager). The
     * library stays loaded for the life of the process.
     */
    public Opened open(Library library) {
        Located located = locate(library);
        if (located.found()) {
            Path path = located.path().orElseThrow();
            preloadSiblings(library, path.getParent());
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(path, Arena.global());
                return new Opened(library, Optional.of(lookup), path + " (" + located.how()
                        + ")", "");
            } catch (IllegalArgumentException | IllegalCallerException e) {
                return new Opened(library, Optional.empty(), path.toString(),
                        "cannot load " + path + ": " + e.getMessage());
            }
        }
        String overrideVariable = library.overrideVariable();
        if (overrideVariable != null && env.get(overrideVariable) != null
                && !env.get(overrideVariable).isBlank()) {
            return new Opened(library, Optional.empty(), "", located.how());
        }
        for (String name : library.fileNames()) {
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(name, Arena.global());
                return new Opened(library, Optional.of(lookup), name + " (dynamic loader)", "");
            } catch (IllegalArgumentException | IllegalCallerException e) {
                // Not known to the loader either; the located reason says where we looked.
            }
        }
        return new Opened(library, Optional.empty(), "", library.displayName() + " not found: "
                + located.how());
    }

    /**
     * cuDNN 9's main library loads its sub-libraries by file name, and cuBLAS needs cuBLASLt:
     * loading them from the same folder first lets a copy outside the loader's search path
     * (a Python environment) resolve them.
     */
    private static void preloadSiblings(Library library, Path dir) {
        String prefix = switch (library) {
            case CUDNN -> "libcudnn_";
            case CUBLAS -> "libcublasLt.so";
            default -> null;
        };
        if (prefix == null || dir == null) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, prefix + "*")) {
            List<Path> siblings = new ArrayList<>();
            files.forEach(siblings::add);
            // cuDNN's sub-libraries depend on each other in this order.
            siblings.sort((a, b) -> Integer.compare(cudnnLoadRank(a), cudnnLoadRank(b)));
            for (Path sibling : siblings) {
                if (!sibling.getFileName().toString().matches(".*\\.so\\.\\d+$")) {
                    continue;
                }
                try {
                    SymbolLookup.libraryLookup(sibling, Arena.global());
                } catch (IllegalArgumentException e) {
                    LOG.log(System.Logger.Level.DEBUG, "could not preload {0}: {1}", sibling,
                            e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not list {0}: {1}", dir, e.getMessage());
        }
    }

    private static int cudnnLoadRank(Path file) {
        String name = file.getFileName().toString();
        String[] order = {"graph", "engines_precompiled", "engines_runtime", "heuristic", "ops",
            "cnn", "adv"};
        for (int i = 0; i < order.length; i++) {
            if (name.contains("_" + order[i])) {
                return i;
            }
        }
        return order.length;
    }

    /** Every {@code site-packages/nvidia/<package>/lib} under the Python prefixes. */
    List<Path> pythonNvidiaLibDirs() {
        Set<Path> sitePackages = new LinkedHashSet<>();
        String pythonPath = env.get("PYTHONPATH");
        if (pythonPath != null) {
            for (String entry : pythonPath.split(":")) {
                if (!entry.isBlank()) {
                    sitePackages.add(Path.of(entry));
                }
            }
        }
        for (Path prefix : pythonPrefixes) {
            for (String lib : List.of("lib", "lib64")) {
                for (Path python : children(prefix.resolve(lib))) {
                    if (!python.getFileName().toString().startsWith("python3")) {
                        continue;
                    }
                    sitePackages.add(python.resolve("site-packages"));
                    sitePackages.add(python.resolve("dist-packages"));
                }
            }
        }
        List<Path> libDirs = new ArrayList<>();
        for (Path site : sitePackages) {
            for (Path nvidiaPackage : children(site.resolve("nvidia"))) {
                Path lib = nvidiaPackage.resolve("lib");
                if (Files.isDirectory(lib)) {
                    libDirs.add(lib);
                }
            }
        }
        return libDirs;
    }

    private static Optional<Path> findIn(Path dir, Library library, List<Path> tried) {
        if (dir == null) {
            return Optional.empty();
        }
        tried.add(dir);
        for (String name : library.fileNames()) {
            Path candidate = dir.resolve(name);
            if (Files.isRegularFile(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static List<Path> children(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (Files.isDirectory(entry)) {
                    out.add(entry);
                }
            }
        } catch (IOException | SecurityException e) {
            return List.of();
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }
}
