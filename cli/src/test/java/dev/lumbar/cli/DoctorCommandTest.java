package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DoctorCommandTest {

    private static String runDoctor() {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            assertEquals(0, Main.run("doctor"));
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void reportsEveryComponentAndExitsZero() {
        String report = runDoctor();

        for (String line : new String[] {"Java:", "native access:", "CPU:", "vector width:",
            "OpenBLAS:", "CUDA driver:", "cuBLAS:", "cuDNN:", "kernels:", "CPU backend:",
            "GPU backend:"}) {
            assertTrue(report.contains(line), "no '" + line + "' in:\n" + report);
        }
        assertTrue(report.contains("native access:   enabled"), report);
    }

    @Test
    void saysPlainlyWhyTheGpuIsNotUsable() {
        String report = runDoctor();

        String verdict = report.lines().filter(l -> l.startsWith("GPU backend:")).findFirst()
                .orElseThrow();
        assertTrue(verdict.contains("usable"), verdict);
        if (verdict.contains("not usable")) {
            assertTrue(verdict.contains("driver") || verdict.contains("cuDNN")
                    || verdict.contains("cuBLAS") || verdict.contains("kernels"), verdict);
            assertTrue(verdict.contains("--device auto runs on the CPU"), verdict);
        }
    }
}
