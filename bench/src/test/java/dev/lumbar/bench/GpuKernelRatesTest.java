package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.CudaOptions;
import dev.lumbar.engine.backend.cuda.SimulatedDevice;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU kernel rates on the simulated device (its kernels, GEMMs and convolutions run on the
 * host, so only the bookkeeping is checked, not the numbers): both ceilings are measured,
 * every kernel gets a positive time, a rate in the unit of its ceiling and a share of it, and
 * the work behind each rate is the kernel's own.
 */
class GpuKernelRatesTest {

    /** Kernel, shape, GPU ms (empty for a ceiling), rate and its unit, share of the ceiling. */
    private static final Pattern ROW = Pattern.compile(
            "\\| (.+?) \\| ?(.*?) ?\\| ?([0-9.]*) ?\\| ([0-9.]+) (GFLOP/s|GB/s) \\| ([0-9]+)% \\|");

    @TempDir
    Path dir;

    @Test
    void everyKernelIsRatedAgainstItsCeiling() throws Exception {
        NativeLibraries libraries = SimulatedDevice.build(dir);
        try (CudaBackend gpu = CudaBackend.open(new CudaOptions(0, CudaOptions.Precision.F32,
                true, 0), libraries)) {
            GpuKernelRates rates = new GpuKernelRates(gpu, 1);
            try {
                GpuKernelRates.Ceilings ceilings = rates.ceilings(32, 1 << 16);
                assertTrue(ceilings.gemmFlopsPerSecond() > 0, ceilings.toString());
                assertTrue(ceilings.copyBytesPerSecond() > 0, ceilings.toString());
                assertEquals("matmul 32³", ceilings.gemm());

                String table = rates.table(ceilings, 1);
                List<String> rows = table.lines().skip(2).toList();
                List<GpuKernelRates.Case> cases = rates.cases(1);
                assertEquals(2 + cases.size(), rows.size(), table);
                for (int i = 0; i < rows.size(); i++) {
                    Matcher row = ROW.matcher(rows.get(i));
                    assertTrue(row.matches(), "not a rated row: " + rows.get(i));
                    // rates are printed to a tenth: the simulated device's are near zero
                    assertTrue(Double.parseDouble(row.group(4)) >= 0, rows.get(i));
                    if (i >= 2) {
                        GpuKernelRates.Case c = cases.get(i - 2);
                        assertEquals(c.kernel(), row.group(1));
                        assertEquals(c.computeBound() ? "GFLOP/s" : "GB/s", row.group(5),
                                rows.get(i));
                        assertTrue(Double.parseDouble(row.group(3)) > 0, rows.get(i));
                    }
                }
                assertTrue(rows.get(0).startsWith("| ceiling: matmul 32³ (cuBLAS)"), table);
                assertTrue(rows.get(1).contains("device to device"), table);

                // the work of two kernels, as the rates count it
                GpuKernelRates.Case dense = cases.get(0);
                assertEquals(2.0 * 192 * 32 * 32 * 48 * 9, dense.flops());
                GpuKernelRates.Case depthwise = cases.stream()
                        .filter(c -> c.kernel().startsWith("depthwise 3x3")).findFirst()
                        .orElseThrow();
                assertEquals(2.0 * 960 * 8 * 8 * Float.BYTES, depthwise.bytes());
            } finally {
                rates.close();
            }
        }
    }
}
