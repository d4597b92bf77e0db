package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Packed weights past their heap share: {@link PackedWeightsShareCheck} in a JVM of its own
 * with a 64 MiB heap, where a quarter of it holds the strips of three of its weights.
 */
class PackedWeightsShareTest {

    @Test
    void weightsPastTheHeapSharePackedOnEveryCallGiveTheSameBits() throws Exception {
        List<String> command = List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                PackedWeightsShareCheck.class.getName());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(),
                StandardCharsets.UTF_8);
        if (!child.waitFor(2, TimeUnit.MINUTES)) {
            child.destroyForcibly();
            throw new AssertionError("the heap share check timed out");
        }
        List<String> lines = output.lines().toList();
        assertEquals(0, child.exitValue(), output);
        assertTrue(lines.contains("kept 3"), "three weights kept within the share:\n" + output);
        assertEquals("ok", lines.get(lines.size() - 1), output);
    }
}
