package dev.lumbar.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every operation on the GPU against the CPU backend on random data (F32 within 1e-4, F16 and
 * BF16 within 1e-2), and the GPU-only operations against their Java twins. Skipped without a
 * GPU; prints the seed and a table.
 */
class CudaBackendIT {

    @ParameterizedTest
    @EnumSource(value = CudaOptions.Precision.class, names = {"F32", "F16", "BF16"})
    void matchesTheCpuBackend(CudaOptions.Precision precision) {
        CudaBackend.Probe probe = CudaBackend.probe(NativeLibraries.system());
        assumeTrue(probe.usable(), probe.summary());
        long seed = Long.getLong("lumbar.test.seed", System.nanoTime());
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults().withPrecision(precision));
                CpuBackend cpu = new CpuBackend(Runtime.getRuntime().availableProcessors())) {
            GpuParity parity = new GpuParity(gpu, cpu, seed, 3);
            List<GpuParity.Result> results = parity.runAll();
            if (precision == CudaOptions.Precision.F32) {
                // each call returns every result so far
                parity.runGpuOnly();
                results = parity.runGraphCheck();
            }
            System.out.println(GpuParity.table(results, gpu.name() + ", seed " + seed));
            assertEquals(List.of(), results.stream().filter(r -> !r.passed()).toList());
        }
    }
}
