package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.cuda.SimulatedDevice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lumbar predict --device cuda} on the bundled demo study, on the simulated device,
 * against {@code --device cpu}. The CUDA run is a child JVM whose environment points the
 * product's own library discovery ({@code LUMBAR_CUDA_LIB_DIR}) at the stand-in libraries, so
 * nothing in the product knows it is being tested; bags are then cut on the device and stay
 * there until graded.
 */
class PredictOnSimulatedDeviceTest {

    private static final Path DEMO = Path.of("..", "weights", "demo");

    @TempDir
    Path work;

    @Test
    void demoStudyOnTheSimulatedDeviceMatchesTheCpu() throws Exception {
        assumeTrue(Files.isDirectory(DEMO.resolve("study")), "no demo study at " + DEMO);
        Path libraries = Files.createDirectories(work.resolve("simulated-device"));
        SimulatedDevice.build(libraries);

        Path cpuCsv = work.resolve("cpu/submission.csv");
        int cpuExit = runInProcess(predictArgs(cpuCsv, "cpu"));
        assertEquals(0, cpuExit, "the CPU run failed");

        Path gpuCsv = work.resolve("cuda/submission.csv");
        Child gpu = runChild(libraries, predictArgs(gpuCsv, "cuda"));
        assertEquals(0, gpu.exit(), gpu.output());

        String report = reportText(gpuCsv.resolveSibling("reports"));
        assertTrue(report.contains("Mock GPU"), "the CUDA run's report names the simulated"
                + " device:\n" + report);

        List<String> cpuRows = Files.readAllLines(cpuCsv);
        List<String> gpuRows = Files.readAllLines(gpuCsv);
        assertEquals(26, cpuRows.size(), "a header and 25 rows");
        assertEquals(cpuRows.size(), gpuRows.size());
        assertEquals(cpuRows.get(0), gpuRows.get(0));
        double worst = 0;
        for (int r = 1; r < cpuRows.size(); r++) {
            String[] cpu = cpuRows.get(r).split(",");
            String[] cuda = gpuRows.get(r).split(",");
            assertEquals(cpu[0], cuda[0], "row ids in the same order");
            for (int k = 1; k < 4; k++) {
                worst = Math.max(worst, Math.abs(Double.parseDouble(cpu[k])
                        - Double.parseDouble(cuda[k])));
            }
        }
        assertTrue(worst <= 1e-4, "probabilities differ by " + worst);
    }

    private String[] predictArgs(Path csv, String device) {
        return new String[] {"predict", "--input", DEMO.resolve("study").toString(), "--model",
            DEMO.resolve("demo.ensemble.json").toString(), "--series-csv",
            DEMO.resolve("study/series_descriptions.csv").toString(), "--out", csv.toString(),
            "--report-dir", csv.resolveSibling("reports").toString(), "--device", device,
            "--threads", "2", "-q"};
    }

    private static int runInProcess(String[] args) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            return Main.run(args);
        } finally {
            System.setOut(oldOut);
        }
    }

    private record Child(int exit, String output) {
    }

    /** {@code Main} in a new JVM with the test's class path and the simulated device's folder. */
    private Child runChild(Path libraries, String[] args) throws IOException,
            InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(work.resolve("child.log").toFile());
        builder.environment().put(NativeLibraries.CUDA_LIB_DIR_VARIABLE, libraries.toString());
        Process child = builder.start();
        assertTrue(child.waitFor(5, TimeUnit.MINUTES), "the CUDA run did not finish");
        return new Child(child.exitValue(), Files.readString(work.resolve("child.log")));
    }

    private static String reportText(Path reports) throws IOException {
        try (var files = Files.list(reports)) {
            StringBuilder text = new StringBuilder();
            for (Path file : files.filter(f -> f.toString().endsWith(".json")).toList()) {
                text.append(Files.readString(file));
            }
            return text.toString();
        }
    }
}
