package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} in the middle of a batch, then {@code --resume}: the final submission has the
 * rows an uninterrupted run writes, in its order and with its probabilities, every study has
 * its report, and no journal or temporary file is left behind. The killed run is a separate JVM
 * on the test class path, killed with SIGKILL as soon as it reports its first finished study.
 */
class KillAndResumeTest {

    private static final Path DEMO_MANIFEST = Path.of("..", "weights", "demo",
            "demo.ensemble.json").toAbsolutePath();
    private static final int STUDIES = 5;

    @TempDir
    Path dir;

    private List<String> predictArgs(Path input, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("predict", "--input", input.toString(),
                "--model", DEMO_MANIFEST.toString(), "--out",
                out.resolve("submission.csv").toString(), "--report-dir",
                out.resolve("reports").toString(), "--threads", "1", "--device", "cpu"));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void killedMidBatchThenResumedWritesWhatAnUninterruptedRunWrites() throws Exception {
        Path input = dir.resolve("studies");
        for (int s = 0; s < STUDIES; s++) {
            PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(40 + s)
                    .withStudyId(Integer.toString(5001 + s))), input);
        }

        // the reference: one uninterrupted run in this JVM
        Path reference = dir.resolve("reference");
        assertEquals(0, Main.run(predictArgs(input, reference, "-q").toArray(String[]::new)));

        // a forked run, killed with SIGKILL as soon as its first study is finished
        Path out = dir.resolve("out");
        Process run = fork(predictArgs(input, out));
        String firstDone = null;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(
                run.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("[1/" + STUDIES + "]")) {
                    firstDone = line;
                    run.destroyForcibly();
                    break;
                }
            }
        }
        assertTrue(run.waitFor(60, TimeUnit.SECONDS), "the killed run did not end");
        assertTrue(firstDone != null, "the forked run never finished a study");
        assertEquals(137, run.exitValue(), "the run was not killed mid-batch");
        Path submission = out.resolve("submission.csv");
        Path journal = out.resolve("submission.csv.partial");
        assertFalse(Files.exists(submission), "a complete submission before the batch ended");
        assertTrue(Files.exists(journal), "no journal after the kill");
        int journaled = (int) Files.readAllLines(journal).stream()
                .filter(l -> l.matches("\\d+_.*")).count() / 25;
        assertTrue(journaled >= 1 && journaled < STUDIES, journaled + " studies in the journal");

        // the resume in this JVM finishes the batch, saying where it found the studies kept
        CommandRun resumed = CommandRun.lumbar(predictArgs(input, out, "--resume")
                .toArray(String[]::new));
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.out().contains("already in " + journal + ", skipped"),
                resumed.out());

        // CPU inference is bit-reproducible from one JVM to the next, so the resumed batch
        // must hold exactly the bytes of the uninterrupted one.
        List<String> expected = Files.readAllLines(reference.resolve("submission.csv"));
        List<String> actual = Files.readAllLines(submission);
        assertEquals(expected, actual, journaled + " studies came from the killed run");
        assertEquals(files(reference), files(out), "a different set of files");
        assertFalse(Files.exists(journal), "the journal was left behind");
    }

    /** A batch stopped by TERM (a scheduler, Ctrl-C through the launcher) says how to go on. */
    @Test
    void aBatchStoppedByTermSaysToResume() throws Exception {
        Path input = threeStudies(50);
        List<String> output = stoppedWhen(predictArgs(input, dir.resolve("out")),
                line -> line.startsWith("[1/3]"));
        assertTrue(output.getLast().endsWith("run the same command with --resume to grade the"
                + " rest"), String.join("\n", output));
    }

    /**
     * TERM before the first study is graded (here as soon as the device is open, while the
     * input is scanned and the networks load): the run says what it leaves, and what it says
     * matches what is on disk, whichever side of the journal's start the signal lands.
     */
    @Test
    void aRunStoppedBeforeGradingSaysWhatItLeaves() throws Exception {
        Path input = threeStudies(60);
        Path out = dir.resolve("out");
        List<String> output = stoppedWhen(predictArgs(input, out),
                line -> line.contains("backend cpu"));
        String last = output.getLast();
        if (last.endsWith("no output was written")) {
            assertFalse(Files.exists(out.resolve("submission.csv.partial")), last);
            assertFalse(Files.exists(out.resolve("submission.csv")), last);
        } else {
            assertTrue(last.endsWith("run the same command with --resume to grade the rest"),
                    String.join("\n", output));
            assertTrue(Files.exists(out.resolve("submission.csv.partial")), last);
        }
    }

    /** Three phantom studies from seeds {@code seed} to {@code seed + 2}. */
    private Path threeStudies(int seed) {
        Path input = dir.resolve("studies");
        for (int s = 0; s < 3; s++) {
            PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(seed + s)
                    .withStudyId(Integer.toString(100 * seed + s))), input);
        }
        return input;
    }

    /**
     * The output of {@code lumbar args} in a JVM of its own, sent TERM at the first line
     * {@code when} accepts; the run must then end with TERM's exit status, 143.
     */
    private static List<String> stoppedWhen(List<String> args,
            java.util.function.Predicate<String> when) throws Exception {
        Process run = fork(args);
        List<String> output = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(
                run.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.add(line);
                if (when.test(line)) {
                    run.toHandle().destroy(); // TERM, leaving the output open to read
                }
            }
        }
        assertTrue(run.waitFor(60, TimeUnit.SECONDS), "the stopped run did not end");
        assertEquals(143, run.exitValue(), String.join("\n", output));
        return output;
    }

    /** {@code lumbar} with {@code args} in a JVM of its own, stdout and stderr together. */
    private static Process fork(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Every file under {@code root}, relative, sorted: temporary and partial files show up. */
    private static List<String> files(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).map(p -> root.relativize(p).toString())
                    .sorted().toList();
        }
    }
}
