package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.spine.SeriesType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lumbar predict} on a batch whose studies lost series, with a damaged series CSV. */
class PredictStudyLayoutTest {

    private static final Path DEMO_MANIFEST = Path.of("..", "weights", "demo",
            "demo.ensemble.json");

    @TempDir
    Path work;

    @Test
    void aStudyLeftWithOneSeriesKeepsItsIdAndEachProblemIsWarnedOnce() throws IOException {
        Path batch = work.resolve("batch");
        PhantomStudy full = PhantomGenerator.generate(PhantomOptions.of(41)
                .withStudyId("4003253"));
        PhantomStudy cut = PhantomGenerator.generate(PhantomOptions.of(42)
                .withStudyId("1832055296"));
        PhantomWriter.write(full, batch);
        PhantomWriter.write(cut, batch);
        String keptSeries = null;
        for (var s : cut.series()) {
            if (s.type() == SeriesType.SAG_T2) {
                keptSeries = s.seriesId();
                continue;
            }
            try (Stream<Path> files = Files.walk(batch.resolve("1832055296")
                    .resolve(s.seriesId()))) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        // a stray file beside another study's series folders once sent the whole batch to UID
        // grouping, where the cut study was named by its one series folder
        Files.writeString(batch.resolve("4003253").resolve("notes.txt"), "not an image");
        Path csv = batch.resolve(PhantomWriter.SERIES_CSV);
        Files.writeString(csv, "1832055296,5,Sagittal T1,extra\n",
                java.nio.file.StandardOpenOption.APPEND);
        long csvLines = Files.readAllLines(csv).size();

        CommandRun run = CommandRun.lumbar("predict", "--input", batch.toString(), "--model",
                DEMO_MANIFEST.toString(), "--series-csv", csv.toString(), "--out",
                work.resolve("out/submission.csv").toString(), "--report-dir",
                work.resolve("out/reports").toString(), "--threads", "1", "-q");

        assertEquals(0, run.exit(), run.err());
        List<String> rows = Files.readAllLines(work.resolve("out/submission.csv"));
        assertEquals(1 + 2 * 25, rows.size());
        assertEquals(25, rows.stream().filter(r -> r.startsWith("1832055296_")).count());
        assertTrue(Files.exists(work.resolve("out/reports/1832055296.json")));
        String report = Files.readString(work.resolve("out/reports/1832055296.json"));
        assertTrue(report.contains("\"" + keptSeries + "\""), report);
        String err = run.err();
        // the deleted series' CSV rows, and the malformed last row, each named by line
        assertTrue(err.contains(PhantomWriter.SERIES_CSV + " line " + csvLines + ": 4 fields"),
                err);
        assertEquals(2, err.lines().filter(l -> l.contains("study 1832055296 has no series"))
                .count(), err);
        // one warning per missing series type of the cut study, not two
        assertEquals(1, err.lines().filter(l -> l.contains("no axial T2 series")
                || l.contains("no AX_T2 series")).count(), err);
        assertEquals(1, err.lines().filter(l -> l.contains("no Sagittal T1 series")
                || l.contains("no SAG_T1 series")).count(), err);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStudyWithOnlyAnAxialSeriesFailsNamingTheMissingKindsAndReportsWhatItHas()
            throws IOException {
        Path batch = work.resolve("batch");
        PhantomStudy study = PhantomGenerator.generate(PhantomOptions.of(43)
                .withStudyId("5001"));
        PhantomWriter.write(study, batch);
        String axial = null;
        for (var s : study.series()) {
            if (s.type() == SeriesType.AX_T2) {
                axial = s.seriesId();
                continue;
            }
            try (Stream<Path> files = Files.walk(batch.resolve("5001").resolve(s.seriesId()))) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }

        CommandRun run = CommandRun.lumbar("predict", "--input", batch.toString(), "--model",
                DEMO_MANIFEST.toString(), "--out", work.resolve("out/submission.csv").toString(),
                "--report-dir", work.resolve("out/reports").toString(), "--threads", "1");

        assertEquals(PredictCommand.EXIT_SOME_FAILED, run.exit(), run.err());
        assertTrue(run.err().contains("study 5001 failed: no target was graded by any model"
                + " (every target would take the priors); no sagittal T1 series, no sagittal"
                + " T2/STIR series"), run.err());
        Map<String, Object> report = (Map<String, Object>) Json.read(
                work.resolve("out/reports/5001.json"));
        assertEquals("failed", report.get("status"));
        Map<String, Object> why = (Map<String, Object>) report.get("failure");
        assertTrue(((String) why.get("message")).contains("no sagittal T1 series, no sagittal"
                + " T2/STIR series"), why.toString());
        List<Map<String, Object>> series = (List<Map<String, Object>>) report.get("series");
        assertEquals(1, series.size(), report.toString());
        assertEquals(axial, series.getFirst().get("name"));
        assertEquals("AX_T2", series.getFirst().get("type"));
    }
}
