package dev.lumbar.engine.model.backbone;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend gives the same bits whether its kernels run under the C1 compiler alone
 * (what the first pass of a run sees) or fully compiled by C2 after warm-up, and with one
 * worker thread or three. Each setting runs in its own JVM ({@link RepeatedForward}).
 */
class CompilerIndependenceTest {

    private static final String[] FIXTURES = {"convnext_atto_tiny", "efficientnet_custom_blocks"};
    /** Enough passes that C2, compiling at 1000 calls, has compiled the kernels by the last. */
    private static final int WARM_PASSES = 12;

    @Test
    void backboneOutputsAreBitIdenticalUnderC1AndWarmC2AndAnyThreadCount() throws Exception {
        Map<String, List<String>> c1 = run(1, 1, "-XX:TieredStopAtLevel=1");
        Map<String, List<String>> c2 = run(3, WARM_PASSES, "-XX:-TieredCompilation",
                "-XX:CompileThreshold=1000", "-Xbatch");

        assertFalse(c1.isEmpty(), "the child printed no digests");
        assertEquals(c1.keySet(), c2.keySet());
        for (var entry : c2.entrySet()) {
            String reference = c1.get(entry.getKey()).get(0);
            List<String> passes = entry.getValue();
            for (int pass = 0; pass < passes.size(); pass++) {
                assertEquals(reference, passes.get(pass), entry.getKey() + ": pass " + pass
                        + " fully compiled with 3 threads differs from C1 with 1 thread");
            }
        }
    }

    /** Digests per network, in pass order, from a child JVM with the given flags. */
    private static Map<String, List<String>> run(int threads, int passes, String... jitFlags)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--add-modules");
        command.add("jdk.incubator.vector");
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-Xmx512m");
        command.addAll(List.of(jitFlags));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(RepeatedForward.class.getName());
        command.add(Integer.toString(threads));
        command.add(Integer.toString(passes));
        command.addAll(List.of(FIXTURES));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(),
                StandardCharsets.UTF_8);
        if (!child.waitFor(5, TimeUnit.MINUTES)) {
            child.destroyForcibly();
            throw new AssertionError("child JVM " + List.of(jitFlags) + " timed out");
        }
        assertEquals(0, child.exitValue(), "child JVM " + List.of(jitFlags) + " failed:\n"
                + output);

        Map<String, List<String>> digests = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            if (line.startsWith("backend ")) {
                System.out.println(List.of(jitFlags) + " " + line);
            }
            String[] fields = line.trim().split(" ");
            if (fields.length == 3 && fields[2].length() == 64) {
                digests.computeIfAbsent(fields[0], k -> new ArrayList<>()).add(fields[2]);
            }
        }
        digests.forEach((name, list) -> System.out.printf("%s %s: %d passes, first %s%n",
                List.of(jitFlags), name, list.size(), list.get(0).substring(0, 16)));
        return digests;
    }
}
