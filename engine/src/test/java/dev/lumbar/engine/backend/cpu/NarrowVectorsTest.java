package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernels on machines with narrower vectors than this one (128-bit NEON or SSE, 256-bit
 * AVX2): their strips, register rows and slack are sized from the vector width, so each
 * width is a different set of edges. Each width runs {@link NarrowVectorsCheck} in a JVM of
 * its own, its vectors capped by {@code -XX:MaxVectorSize}.
 */
class NarrowVectorsTest {

    @ParameterizedTest
    @ValueSource(ints = {4, 8})
    void edgeShapesPassWithNarrowerVectors(int lanes) throws Exception {
        Assumptions.assumeTrue(lanes < jdk.incubator.vector.FloatVector.SPECIES_PREFERRED
                .length(), "vectors here are no wider than " + lanes + " floats");
        List<String> command = List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m", "-XX:MaxVectorSize=" + lanes * Float.BYTES,
                "-cp", System.getProperty("java.class.path"),
                NarrowVectorsCheck.class.getName());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(),
                StandardCharsets.UTF_8);
        if (!child.waitFor(2, TimeUnit.MINUTES)) {
            child.destroyForcibly();
            throw new AssertionError("the check with " + lanes + "-float vectors timed out");
        }
        List<String> lines = output.lines().toList();
        assertTrue(lines.contains("lanes " + lanes),
                "the child did not run with " + lanes + "-float vectors:\n" + output);
        assertEquals(0, child.exitValue(), lanes + "-float vectors:\n" + output);
        assertEquals("ok", lines.get(lines.size() - 1), output);
    }
}
