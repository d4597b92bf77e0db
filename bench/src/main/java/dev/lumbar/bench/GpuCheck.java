package dev.lumbar.bench;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.CudaOptions;
import dev.lumbar.engine.backend.cuda.GpuParity;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs every backend operation on the GPU and on the CPU backend with the same random inputs
 * (F32 within 1e-4 with TF32 off; F16 and BF16 within 1e-2), checks the GPU-only operations
 * against their Java twins, runs whole ConvNeXt and EfficientNet encoders (random weights) on
 * both, step by step and as CUDA graphs, and prints a table of errors and times per
 * precision.
 *
 * <p>Exit code: 0 all passed, 1 some comparison failed, 2 no usable GPU, 3 the GPU backend
 * failed to run. Arguments: {@code [seed] [repetitions]}.
 */
public final class GpuCheck {

    /** The two encoder families of the winning solutions, at full size. */
    private static final List<String> BACKBONES = List.of("convnext_small",
            "tf_efficientnetv2_s");
    /** A bag of slices as stage 2 sees it: several slices at a modest size. */
    private static final int BAG_SLICES = 5;
    private static final int SLICE_SIZE = 224;

    private GpuCheck() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        long seed = args.length > 0 ? Long.parseLong(args[0]) : System.nanoTime();
        int repetitions = args.length > 1 ? Integer.parseInt(args[1]) : 10;

        CudaBackend.Probe probe = CudaBackend.probe(NativeLibraries.system());
        System.out.println("gpu: " + probe.summary());
        if (!probe.usable()) {
            System.out.println("GPU check not run: no usable GPU");
            return 2;
        }

        List<GpuParity.Result> failures = new ArrayList<>();
        int threads = Runtime.getRuntime().availableProcessors();
        try (CpuBackend cpu = new CpuBackend(threads)) {
            for (CudaOptions.Precision precision : List.of(CudaOptions.Precision.F32,
                    CudaOptions.Precision.F16, CudaOptions.Precision.BF16,
                    CudaOptions.Precision.TF32)) {
                long start = System.nanoTime();
                try (CudaBackend gpu = CudaBackend.open(
                        CudaOptions.defaults().withPrecision(precision))) {
                    GpuParity parity = new GpuParity(gpu, cpu, seed, repetitions);
                    List<GpuParity.Result> results = parity.runAll();
                    if (precision == CudaOptions.Precision.F32) {
                        parity.runGpuOnly();
                results = parity.runGraphCheck();
                    }
                    long[] use = gpu.memoryUse();
                    System.out.print(GpuParity.table(results, "== " + gpu.name() + " vs "
                            + cpu.name() + ", seed " + seed + ", peak device memory "
                            + (use[1] >> 20) + " MiB, "
                            + (System.nanoTime() - start) / 1_000_000 + " ms"));
                    results.stream().filter(r -> !r.passed()).forEach(failures::add);
                } catch (RuntimeException e) {
                    System.out.println("== " + precision + ": the GPU backend failed: " + e);
                    e.printStackTrace(System.out);
                    return 3;
                }
            }
        }
        System.out.println(failures.isEmpty() ? "GPU check: all comparisons passed"
                : "GPU check: " + failures.size() + " comparisons FAILED: " + failures);
        return failures.isEmpty() ? 0 : 1;
    }
}
