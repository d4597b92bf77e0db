package dev.lumbar.bench;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.CudaOptions;
import dev.lumbar.engine.backend.cuda.GpuParity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every backend operation on the GPU and on the CPU backend with the same random inputs
 * (F32 within 1e-4 with TF32 off; F16 and BF16 within 1e-2), checks the GPU-only operations
 * against their Java twins, rates the kernels on the backbones' shapes against a cuBLAS GEMM
 * and a device-to-device copy ({@link GpuKernelRates}), runs whole ConvNeXt and EfficientNet
 * encoders (random weights) on both, step by step and as CUDA graphs, and prints a table of
 * errors and times per precision, with the pipeline's device bag sampler against the CPU
 * sampler (F32). Then it grades the bundled demo study on the GPU (F32, bags cut on the
 * device) and on the CPU, compares the probabilities (within 1e-4) and prints per-backbone and
 * per-stage times as Markdown tables for bench/README.md.
 *
 * <p>Exit code: 0 all passed, 1 some comparison failed, 2 no usable GPU, 3 the GPU backend
 * failed to run. Arguments: {@code [seed] [repetitions]}. The demo folder is the system
 * property {@code lumbar.demo.dir} (default {@code weights/demo}); without it the demo study
 * is skipped with a line that says so.
 */
public final class GpuCheck {

    /** The two encoder families of the winning solutions, at full size. */
    private static final List<String> BACKBONES = List.of("convnext_small",
            "tf_efficientnetv2_s");
    /** A bag of slices as stage 2 sees it: several slices at a modest size. */
    private static final int BAG_SLICES = 5;
    private static final int SLICE_SIZE = 224;
    /** The ceilings: a square GEMM this wide, a copy of this many floats (1 GiB). */
    private static final int GEMM_SIDE = 4096;
    private static final long COPY_FLOATS = 1L << 28;
    /** The kernel rates' bag: 25 slices, as at 128 × 128. */
    private static final int RATES_BATCH = 25;
    /** Runs of the demo study per backend, the first cold. */
    private static final int DEMO_RUNS = 3;

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
        List<String> backboneRows = new ArrayList<>();
        int threads = Runtime.getRuntime().availableProcessors();
        try (CpuBackend cpu = new CpuBackend(threads)) {
            for (CudaOptions.Precision precision : List.of(CudaOptions.Precision.F32,
                    CudaOptions.Precision.F16, CudaOptions.Precision.BF16,
                    CudaOptions.Precision.TF32)) {
                long start = System.nanoTime();
                try (CudaBackend gpu = CudaBackend.open(
                        CudaOptions.defaults().withPrecision(precision))) {
                    GpuParity parity = new GpuParity(gpu, cpu, seed, repetitions);
                    parity.runAll();
                    if (precision == CudaOptions.Precision.F32) {
                        parity.runGpuOnly();
                        parity.runGraphCheck();
                    }
                    List<GpuParity.Result> results = new ArrayList<>();
                    for (String arch : BACKBONES) {
                        results = new ArrayList<>(parity.runBackbone(arch, Map.of(),
                                BAG_SLICES, SLICE_SIZE));
                    }
                    if (precision == CudaOptions.Precision.F32) {
                        results.add(BagSamplerCheck.run(gpu, seed));
                    }
                    for (GpuParity.Result r : results) {
                        if (BACKBONES.stream().anyMatch(r.operation()::startsWith)) {
                            backboneRows.add(String.format(Locale.ROOT,
                                    "| %s | %s | %s | %.1f | %.2f | %.1e |", r.operation(),
                                    precision, r.shape(), r.referenceMillis(), r.gpuMillis(),
                                    r.relativeError()));
                        }
                    }
                    long[] use = gpu.memoryUse();
                    System.out.print(GpuParity.table(results, "== " + gpu.name() + " vs "
                            + cpu.name() + ", seed " + seed + ", peak device memory "
                            + (use[1] >> 20) + " MiB, "
                            + (System.nanoTime() - start) / 1_000_000 + " ms"));
                    results.stream().filter(r -> !r.passed()).forEach(failures::add);
                    kernelRates(gpu, precision, repetitions);
                } catch (RuntimeException e) {
                    System.out.println("== " + precision + ": the GPU backend failed: " + e);
                    e.printStackTrace(System.out);
                    return 3;
                }
            }
            System.out.println();
            System.out.println("== encoders, a bag of " + BAG_SLICES + " x 3 x " + SLICE_SIZE
                    + "^2 (random weights; graph rows: reference = step-by-step GPU ms)");
            System.out.println("| encoder | precision | input | reference ms | GPU ms |"
                    + " rel. error |");
            System.out.println("|---|---|---|---:|---:|---:|");
            backboneRows.forEach(System.out::println);

            String demoFailure = demoStudy(cpu);
            if (demoFailure != null) {
                failures.add(new GpuParity.Result(demoFailure, "demo", Double.POSITIVE_INFINITY,
                        DemoStudyCheck.TOLERANCE, Double.NaN, Double.NaN));
            }
        } catch (RuntimeException e) {
            System.out.println("== demo study: the GPU backend failed: " + e);
            e.printStackTrace(System.out);
            return 3;
        }
        System.out.println(failures.isEmpty() ? "GPU check: all comparisons passed"
                : "GPU check: " + failures.size() + " comparisons FAILED: " + failures);
        return failures.isEmpty() ? 0 : 1;
    }

    /**
     * The backend's kernels on the backbones' shapes, rated against a cuBLAS GEMM and a
     * device-to-device copy measured just before on the same device and precision.
     */
    private static void kernelRates(CudaBackend gpu, CudaOptions.Precision precision,
            int repetitions) {
        GpuKernelRates rates = new GpuKernelRates(gpu, repetitions);
        try {
            GpuKernelRates.Ceilings ceilings = rates.ceilings(GEMM_SIDE, COPY_FLOATS);
            System.out.println("== kernel rates, " + precision + ", a bag of " + RATES_BATCH
                    + " slices (mean of " + repetitions + " runs, CUDA events)");
            System.out.print(rates.table(ceilings, RATES_BATCH));
        } catch (RuntimeException e) {
            // timings only: the comparisons and the demo study still run
            System.out.println("== kernel rates, " + precision + ": failed: " + e);
            e.printStackTrace(System.out);
        } finally {
            rates.close();
        }
    }

    /** Grades the demo study on both backends; returns why it failed, or null. */
    private static String demoStudy(CpuBackend cpu) {
        Path demo = Path.of(System.getProperty("lumbar.demo.dir", "weights/demo"));
        System.out.println();
        if (!Files.isRegularFile(demo.resolve("demo.ensemble.json"))) {
            System.out.println("== demo study skipped: no demo.ensemble.json under " + demo);
            return null;
        }
        DemoStudyCheck check = new DemoStudyCheck(demo, DEMO_RUNS);
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()
                .withPrecision(CudaOptions.Precision.F32))) {
            DemoStudyCheck.Runs onGpu = check.grade(gpu);
            DemoStudyCheck.Runs onCpu = check.grade(cpu);
            double difference = DemoStudyCheck.largestDifference(onGpu, onCpu);
            System.out.println("== demo study (" + demo.resolve("study") + "), " + DEMO_RUNS
                    + " runs per backend; cold / median warm ms; largest probability"
                    + String.format(Locale.ROOT, " difference %.2e (tolerance %.0e)",
                            difference, DemoStudyCheck.TOLERANCE));
            System.out.print(DemoStudyCheck.table(List.of(onGpu, onCpu)));
            return difference <= DemoStudyCheck.TOLERANCE ? null
                    : "demo study probabilities differ by " + difference;
        } catch (java.io.IOException e) {
            return "demo study unreadable: " + e.getMessage();
        }
    }
}
