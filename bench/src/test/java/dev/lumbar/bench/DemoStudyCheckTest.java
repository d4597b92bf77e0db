package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.backend.cuda.CudaOptions;
import dev.lumbar.engine.backend.cuda.GpuParity;
import dev.lumbar.engine.backend.cuda.SimulatedDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU check's pipeline parts on the simulated device: both backends grade the demo, agree
 * within the check's tolerance, and the timing table has a row per backend; the bag sampler
 * comparison passes.
 */
class DemoStudyCheckTest {

    private static final Path DEMO = Path.of("..", "weights", "demo");

    @TempDir
    Path dir;

    @Test
    void demoStudyAgreesOnBothBackendsAndIsTimed() throws Exception {
        assumeTrue(Files.isRegularFile(DEMO.resolve("demo.ensemble.json")), "no demo");
        NativeLibraries libraries = SimulatedDevice.build(dir);
        DemoStudyCheck check = new DemoStudyCheck(DEMO, 2);
        try (CudaBackend gpu = CudaBackend.open(new CudaOptions(0, CudaOptions.Precision.F32,
                true, 0), libraries); CpuBackend cpu = new CpuBackend(2)) {
            DemoStudyCheck.Runs onGpu = check.grade(gpu);
            DemoStudyCheck.Runs onCpu = check.grade(cpu);

            assertEquals(25, onGpu.probabilities().length);
            assertEquals(2, onGpu.millis().size());
            double difference = DemoStudyCheck.largestDifference(onGpu, onCpu);
            assertTrue(difference <= DemoStudyCheck.TOLERANCE, "differ by " + difference);
            String table = DemoStudyCheck.table(List.of(onGpu, onCpu));
            assertEquals(4, table.lines().count(), table);
            assertTrue(table.contains("| cuda (Mock GPU"), table);
            assertTrue(table.contains("| cpu"), table);
        }
    }

    @Test
    void bagSamplerCheckPassesOnTheSimulatedDevice() throws Exception {
        NativeLibraries libraries = SimulatedDevice.build(dir);
        try (CudaBackend gpu = CudaBackend.open(new CudaOptions(0, CudaOptions.Precision.F32,
                true, 0), libraries)) {
            GpuParity.Result result = BagSamplerCheck.run(gpu, 99);
            assertEquals("75 bags", result.shape());
            assertTrue(result.passed(), "largest difference " + result.relativeError());
        }
    }
}
