package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.report.SubmissionWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lumbar predict} on a batch: several studies at once give the sequential outputs, and a
 * study that fails or runs out of time is reported in its own JSON report while the rest are
 * written.
 */
class PredictBatchTest {

    private static final Path DEMO_MANIFEST = Path.of("..", "weights", "demo",
            "demo.ensemble.json");

    /** Three phantom studies, one with nothing readable and one left empty. */
    @TempDir
    static Path studies;

    @TempDir
    Path work;

    @BeforeAll
    static void writeStudies() throws IOException {
        for (int seed = 11; seed <= 13; seed++) {
            PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(seed)
                    .withStudyId("20" + seed)), studies);
        }
        Path broken = Files.createDirectories(studies.resolve("2012b/1"));
        Files.writeString(broken.resolve("1.dcm"), "not DICOM at all");
        // a study folder whose series were all deleted
        Files.createDirectories(studies.resolve("2014/7"));
    }

    private static CommandRun predict(List<String> args) {
        List<String> full = new ArrayList<>(List.of("predict"));
        full.addAll(args);
        return CommandRun.lumbar(full.toArray(String[]::new));
    }

    private List<String> args(String outName, String... more) {
        List<String> all = new ArrayList<>(List.of("--input", studies.toString(), "--model",
                DEMO_MANIFEST.toString(), "--out",
                work.resolve(outName + "/submission.csv").toString(), "--report-dir",
                work.resolve(outName + "/reports").toString(), "--threads", "1"));
        all.addAll(List.of(more));
        return all;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> report(String outName, String study) throws IOException {
        return (Map<String, Object>) Json.read(work.resolve(outName + "/reports/" + study
                + ".json"));
    }

    /** A report without its wall-clock timings, which differ between any two runs. */
    private Map<String, Object> timeless(String outName, String study) throws IOException {
        Map<String, Object> report = report(outName, study);
        report.remove("timings_ms");
        return report;
    }

    @Test
    void threeWorkersWriteWhatOneWorkerWrites() throws IOException {
        CommandRun one = predict(args("one", "--workers", "1"));
        CommandRun three = predict(args("three", "--workers", "3"));

        assertEquals(3, one.exit(), one.err());
        assertEquals(3, three.exit(), three.err());
        List<String> sequential = Files.readAllLines(work.resolve("one/submission.csv"));
        List<String> parallel = Files.readAllLines(work.resolve("three/submission.csv"));
        assertEquals(1 + 3 * 25, sequential.size());
        assertTrue(sequential.get(1).startsWith("2011_") && sequential.get(26).startsWith("2012_")
                && sequential.get(51).startsWith("2013_"), sequential.toString());
        // The CPU backend is bit-reproducible whatever the thread interleaving and however warm
        // the JIT is, so the parallel run must write exactly what the sequential one wrote.
        assertEquals(sequential, parallel);
        for (String study : List.of("2011", "2012", "2013", "2012b")) {
            assertEquals(timeless("one", study), timeless("three", study), study);
        }
        // the progress lines come in study order too
        assertEquals(progressLines(one.out()), progressLines(three.out()));
    }

    private static List<String> progressLines(String out) {
        return out.lines().filter(l -> l.startsWith("[")).map(l -> l.replaceAll(
                "[0-9.]+ s$", "")).toList();
    }

    @Test
    void aFailedStudyHasAFailedReportAndTheBatchGoesOn() throws IOException {
        CommandRun run = predict(args("out", "--workers", "2"));

        assertEquals(3, run.exit(), run.err());
        assertTrue(run.err().contains("study 2012b failed: no usable series"), run.err());
        Map<String, Object> failed = report("out", "2012b");
        assertEquals("failed", failed.get("status"));
        assertEquals("lumbar-report/1", failed.get("format"));
        @SuppressWarnings("unchecked")
        Map<String, Object> why = (Map<String, Object>) failed.get("failure");
        assertEquals("error", why.get("kind"));
        assertTrue(((String) why.get("message")).startsWith("no usable series"), why.toString());
        assertTrue(run.out().contains("3 studies graded, 1 failed"), run.out());
        assertTrue(run.err().contains("study folder 2014 holds no DICOM files; skipped"),
                run.err());
        assertEquals(1 + 3 * 25, Files.readAllLines(work.resolve("out/submission.csv")).size());
    }

    @Test
    void studiesPastTheTimeLimitAreAbandonedAndReportedAsTimedOut() throws IOException {
        long start = System.nanoTime();
        CommandRun run = predict(args("late", "--study-timeout", "0.001", "--workers", "2"));
        double seconds = (System.nanoTime() - start) / 1e9;

        assertEquals(3, run.exit(), run.err());
        for (String study : List.of("2011", "2012", "2013")) {
            Map<String, Object> report = report("late", study);
            assertEquals("failed", report.get("status"), study);
            @SuppressWarnings("unchecked")
            Map<String, Object> why = (Map<String, Object>) report.get("failure");
            assertEquals("timeout", why.get("kind"), study);
            assertEquals("exceeded the time limit of 0.001 s per study (--study-timeout) and"
                    + " was abandoned", why.get("message"));
        }
        assertTrue(run.err().contains("study 2013 failed: exceeded the time limit"), run.err());
        assertEquals(List.of(SubmissionWriter.HEADER),
                Files.readAllLines(work.resolve("late/submission.csv")));
        // stopped at the first operation past the limit, not after the 30 s grace
        assertTrue(seconds < 25, "took " + seconds + " s");
    }

    @Test
    void badWorkerCountsAndTimeLimitsAreUsageErrors() {
        assertEquals(2, predict(args("bad", "--workers", "0")).exit());
        assertEquals(2, predict(args("bad", "--study-timeout", "0")).exit());
        assertEquals(2, predict(args("bad", "--study-timeout", "-5")).exit());
    }

    @Test
    void helpNamesTheBatchOptions() {
        CommandRun help = predict(List.of("--help"));
        assertTrue(help.out().contains("--study-timeout") && help.out().contains("--workers")
                && help.out().contains("status failed"), help.out());
    }
}
