package dev.lumbar.cli;

import dev.lumbar.bindings.CudaDriver;
import dev.lumbar.bindings.CudaException;
import dev.lumbar.bindings.CudaRuntime;
import dev.lumbar.bindings.Cublas;
import dev.lumbar.bindings.Cudnn;
import dev.lumbar.bindings.Library;
import dev.lumbar.bindings.Loaded;
import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code lumbar doctor}: what this machine offers the engine (Java, CPU, OpenBLAS, CUDA driver,
 * GPUs, cuBLAS, cuDNN, kernels) and, for anything missing, why. It only reports, so it exits 0
 * whether or not a GPU is usable.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Reports the Java runtime, CPU, OpenBLAS, CUDA driver, GPUs, cuBLAS, "
                + "cuDNN and kernels this machine offers, and why any is not usable.",
            "",
            "Exit codes: 0 reported (whatever is missing; the CPU path needs none of it),"
                    + " 1 an internal error (a bug)."})
public final class DoctorCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private PrintWriter out;

    @Override
    public Integer call() {
        out = spec.commandLine().getOut();
        NativeLibraries libraries = NativeLibraries.system();
        List<String> gpuProblems = new ArrayList<>();

        // java
        line("Java", Runtime.version() + " (" + System.getProperty("java.vm.name") + ", "
                + System.getProperty("java.home") + ")");
        boolean nativeAccess = DoctorCommand.class.getModule().isNativeAccessEnabled();
        line("native access", nativeAccess ? "enabled"
                : "NOT enabled: run with --enable-native-access=ALL-UNNAMED (the launcher does)");

        // cpu
        line("CPU", cpuModel() + ", " + Runtime.getRuntime().availableProcessors()
                + " hardware threads");
        line("vector width", vectorWidth());
        NativeLibraries.Located blas = libraries.locate(Library.OPENBLAS);
        NativeLibraries.Opened blasOpened = blas.found() ? null : libraries.open(Library.OPENBLAS);
        line("OpenBLAS", blas.found() ? "found at " + blas.path().orElseThrow()
                : blasOpened.ok() ? "found by the dynamic loader: " + blasOpened.origin()
                : "not found (the CPU backend uses its own GEMM; install libopenblas0 for "
                        + "faster matrix products): " + blas.how());

        // cuda
        Loaded<CudaRuntime> runtime = CudaRuntime.load(libraries);
        if (runtime.ok()) {
            CudaRuntime rt = runtime.binding().orElseThrow();
            line("CUDA runtime", CudaRuntime.formatVersion(rt.runtimeVersion()) + " ("
                    + rt.origin() + ")");
        } else {
            line("CUDA runtime", runtime.reason() + " (not needed by the engine)");
        }
        Loaded<CudaDriver> driver = CudaDriver.load(libraries);
        if (!driver.ok()) {
            line("CUDA driver", driver.reason());
            gpuProblems.add("no NVIDIA driver (libcuda.so.1)");
        } else {
            reportDriver(driver.binding().orElseThrow(), gpuProblems);
        }

        Loaded<Cublas> cublas = Cublas.load(libraries);
        if (cublas.ok()) {
            line("cuBLAS", versionOf(() -> formatCublas(cublas.binding().orElseThrow()
                    .version())) + " (" + cublas.origin() + ")");
        } else {
            line("cuBLAS", cublas.reason());
            gpuProblems.add("no cuBLAS");
        }
        Loaded<Cudnn> cudnn = Cudnn.load(libraries);
        if (cudnn.ok()) {
            line("cuDNN", versionOf(() -> formatCudnn(cudnn.binding().orElseThrow().version()))
                    + " (" + cudnn.origin() + ")");
        } else {
            line("cuDNN", cudnn.reason());
            gpuProblems.add("no cuDNN");
        }
        OptionalInt fatbin = CudaBackend.kernelsFatbinBytes();
        if (fatbin.isPresent()) {
            line("kernels", "built (" + fatbin.getAsInt() + " bytes, sm_90 + compute_90 PTX)");
        } else {
            line("kernels", "not built (the build had no nvcc)");
            gpuProblems.add("kernels not built");
        }

        // verdict
        line("CPU backend", "usable");
        line("GPU backend", gpuProblems.isEmpty() ? "usable (--device cuda or auto)"
                : "not usable: " + String.join("; ", gpuProblems)
                        + " (--device auto runs on the CPU)");
        out.flush();
        return 0;
    }

    private void reportDriver(CudaDriver driver, List<String> gpuProblems) {
        try {
            driver.init();
            line("CUDA driver", "CUDA " + CudaRuntime.formatVersion(driver.driverVersion())
                    + " (" + driver.origin() + ")");
            int count = driver.deviceCount();
            if (count == 0) {
                gpuProblems.add("the driver sees no GPU");
            }
            for (int ordinal = 0; ordinal < count; ordinal++) {
                int device = driver.device(ordinal);
                int cc = driver.computeCapability(device);
                line("GPU cuda:" + ordinal, driver.deviceName(device) + ", "
                        + (driver.deviceTotalMemory(device) >> 20) + " MiB, compute capability "
                        + cc / 10 + "." + cc % 10
                        + (cc < 90 ? " (the kernels need 9.0 or newer: SASS for sm_90, PTX "
                                + "for later chips)" : ""));
                if (ordinal == 0 && cc < 90) {
                    gpuProblems.add("cuda:0 is older than compute capability 9.0");
                }
            }
        } catch (CudaException e) {
            line("CUDA driver", "found (" + driver.origin() + ") but not usable: "
                    + e.getMessage());
            gpuProblems.add("the driver reports " + e.getMessage());
        }
    }

    private interface VersionQuery {
        String get();
    }

    private static String versionOf(VersionQuery query) {
        try {
            return query.get();
        } catch (RuntimeException e) {
            return "version unknown (" + e.getMessage() + ")";
        }
    }

    private static String formatCublas(int version) {
        return (version / 10000) + "." + (version / 100 % 100) + "." + (version % 100);
    }

    /** cuDNN 9 numbers versions major·10000 + minor·100 + patch. */
    private static String formatCudnn(long version) {
        return (version / 10000) + "." + (version / 100 % 100) + "." + (version % 100);
    }

    private void line(String what, String value) {
        out.printf("%-16s %s%n", what + ":", value);
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: fall through to the architecture
        }
        return System.getProperty("os.arch");
    }

    private static String vectorWidth() {
        try {
            int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
            return bits + " bits (" + bits / 32 + " floats per vector)";
        } catch (LinkageError e) {
            return "Vector API not enabled: run with --add-modules jdk.incubator.vector "
                    + "(the launcher does)";
        }
    }
}
