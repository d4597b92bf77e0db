package dev.lumbar.engine.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.engine.metric.CompetitionMetric;
import dev.lumbar.engine.metric.Labels;
import dev.lumbar.engine.metric.Submission;
import dev.lumbar.engine.spine.Severity;
import dev.lumbar.engine.spine.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubmissionWriterTest {

    @TempDir
    Path temp;

    /** Distinct probabilities per target, so a row in the wrong place is caught. */
    private static double[][] probabilities(int seed) {
        double[][] rows = new double[Target.COUNT][];
        for (Target target : Target.ALL) {
            double severe = (target.index() + seed) % 7 / 20.0;
            double moderate = (target.index() * 3 + seed) % 5 / 20.0;
            rows[target.index()] = new double[] {1 - severe - moderate, moderate, severe};
        }
        return rows;
    }

    @Test
    void writesRowsInSampleSubmissionOrder() throws Exception {
        String shared = System.getProperty("lumbar.shared.dir");
        assumeTrue(shared != null, "lumbar.shared.dir not set");
        Path sample = Path.of(shared, "data", "rsna-format", "sample_submission.csv");
        assumeTrue(Files.isRegularFile(sample), "no sample_submission.csv");
        List<String> sampleLines = Files.readAllLines(sample);
        String study = sampleLines.get(1).substring(0, sampleLines.get(1).indexOf('_'));
        double[][] thirds = new double[Target.COUNT][];
        for (int i = 0; i < Target.COUNT; i++) {
            thirds[i] = new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0};
        }
        Path file = temp.resolve("submission.csv");

        try (SubmissionWriter writer = SubmissionWriter.create(file)) {
            writer.append(study, thirds);
        }

        assertEquals(sampleLines, Files.readAllLines(file));
        assertFalse(Files.exists(temp.resolve("submission.csv.partial")));
    }

    @Test
    void roundTripsThroughTheMetricsReader() throws Exception {
        Path file = temp.resolve("submission.csv");
        try (SubmissionWriter writer = SubmissionWriter.create(file)) {
            writer.append("101", probabilities(0));
            writer.append("202", probabilities(3));
        }

        Submission read = Submission.read(file);

        assertEquals(50, read.rowCount());
        for (Target target : Target.ALL) {
            assertEquals(probabilities(3)[target.index()][Severity.SEVERE.ordinal()],
                    read.row(target.rowId("202")).orElseThrow()[Severity.SEVERE.ordinal()]);
        }
        // and scores: a submission can be checked against labels with the same code
        Map<String, Severity[]> truth = new HashMap<>();
        Severity[] normal = new Severity[Target.COUNT];
        java.util.Arrays.fill(normal, Severity.NORMAL_MILD);
        truth.put("101", normal);
        assertTrue(CompetitionMetric.score(Labels.of(truth), read).score() > 0);
    }

    @Test
    void journalKeepsFinishedStudiesAcrossACrashAndResumeSkipsThem() throws Exception {
        Path file = temp.resolve("submission.csv");
        Path journal = temp.resolve("submission.csv.partial");
        SubmissionWriter crashed = SubmissionWriter.create(file);
        crashed.append("101", probabilities(0));
        crashed.append("202", probabilities(1));
        // the process dies here: no close(); a third study was being written and tore
        List<String> rows = Files.readAllLines(journal);
        assertEquals(1 + 50, rows.size());
        Files.writeString(journal, "303_left_neural_foraminal_narrowing_l1_l2,0.5,0.25,0.25\n"
                + "303_left_neural_foraminal_narrowing_l2_l3,0.5,0.2",
                java.nio.file.StandardOpenOption.APPEND);
        assertFalse(Files.exists(file), "no half-written submission appears");

        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            assertEquals(Set.of("101", "202"), resumed.completedStudies());
            assertEquals(1, resumed.incompleteStudies(), "303's torn rows");
            assertEquals(journal.toAbsolutePath(), resumed.resumedFrom());
            resumed.append("303", probabilities(2));
        }

        List<String> lines = Files.readAllLines(file);
        assertEquals(1 + 75, lines.size());
        assertEquals(SubmissionWriter.HEADER, lines.getFirst());
        assertTrue(lines.get(51).startsWith("303_left_neural_foraminal_narrowing_l1_l2,"));
        assertFalse(Files.exists(journal));

        try (SubmissionWriter again = SubmissionWriter.resume(file)) {
            assertEquals(List.of("101", "202", "303"), List.copyOf(again.completedStudies()));
        }
        assertEquals(lines, Files.readAllLines(file));
    }

    @Test
    void aResumedStudyCanBeRegradedAndTheFileKeepsTheInputOrder() throws Exception {
        Path file = temp.resolve("submission.csv");
        try (SubmissionWriter first = SubmissionWriter.create(file)) {
            first.append("101", probabilities(0));
            first.append("202", probabilities(1));
            first.append("303", probabilities(2));
        }
        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            resumed.forget("202");
            assertEquals(List.of("101", "303"), List.copyOf(resumed.completedStudies()));
            resumed.append("202", probabilities(0));
            resumed.orderBy(List.of("101", "202", "303"));
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(1 + 75, lines.size());
        assertTrue(lines.get(26).startsWith("202_"), lines.get(26));
        assertTrue(lines.get(51).startsWith("303_"), lines.get(51));
        assertEquals(lines.get(1).substring(3), lines.get(26).substring(3), "regraded rows");
    }

    @Test
    void anAbandonedRunLeavesTheEarlierSubmissionWholeAndItsJournalForResume()
            throws Exception {
        Path file = temp.resolve("submission.csv");
        try (SubmissionWriter first = SubmissionWriter.create(file)) {
            first.append("101", probabilities(0));
        }
        List<String> earlier = Files.readAllLines(file);

        try (SubmissionWriter broken = SubmissionWriter.create(file)) {
            broken.append("202", probabilities(1));
            broken.abandon();
        }

        assertEquals(earlier, Files.readAllLines(file), "the earlier submission is whole");
        // resuming carries on the broken run, which started afresh: the earlier file's
        // studies (graded perhaps by other weights) are graded again, not kept
        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            assertEquals(Set.of("202"), resumed.completedStudies());
            resumed.append("101", probabilities(2));
        }
        List<String> lines = Files.readAllLines(file);
        assertTrue(lines.get(1).startsWith("202_"), lines.get(1));
        assertEquals(1 + 50, lines.size());

        // a resumed run that broke off keeps what it had kept, as its journal begins with it
        try (SubmissionWriter broken = SubmissionWriter.resume(file)) {
            broken.append("303", probabilities(3));
            broken.abandon();
        }
        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            assertEquals(List.of("202", "101", "303"), List.copyOf(resumed.completedStudies()));
        }
    }

    @Test
    void theJournalTakesTheFilesModeSoItsRowsAreNoMoreReadable() throws Exception {
        Path file = temp.resolve("submission.csv");
        assumeTrue(Files.getFileStore(temp).supportsFileAttributeView("posix"));
        try (SubmissionWriter first = SubmissionWriter.create(file)) {
            first.append("101", probabilities(0));
        }
        var ownerOnly = java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
        Files.setPosixFilePermissions(file, ownerOnly);
        try (SubmissionWriter second = SubmissionWriter.create(file)) {
            second.append("202", probabilities(1));
            assertEquals(ownerOnly, Files.getPosixFilePermissions(
                    temp.resolve("submission.csv.partial")));
        }
        assertEquals(ownerOnly, Files.getPosixFilePermissions(file));
    }

    /**
     * Rows edited into numbers other CSV readers refuse, or probabilities that do not sum to
     * 1, are not kept: the study is graded again. A byte-order mark before the header is fine.
     */
    @Test
    void resumeKeepsOnlyRowsAsThisWriterWritesThem() throws Exception {
        Path file = temp.resolve("submission.csv");
        try (SubmissionWriter first = SubmissionWriter.create(file)) {
            first.append("101", probabilities(0));
            first.append("202", probabilities(1));
            first.append("303", probabilities(2));
            first.append("404", probabilities(3));
        }
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(file));
        lines.set(0, "\uFEFF" + lines.get(0));
        lines.set(1 + 25, lines.get(1 + 25).replaceFirst(",[^,]*,", ",0x1p-1,"));
        lines.set(1 + 50, lines.get(1 + 50).replaceFirst(",[^,]*$", ",0.25f"));
        lines.set(1 + 75, lines.get(1 + 75).replaceFirst(",.*$", ",0,0,0"));
        Files.write(file, lines);

        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            assertEquals(Set.of("101"), resumed.completedStudies());
            assertEquals(3, resumed.incompleteStudies());
        }
    }

    @Test
    void keptRowsAreWrittenBackInTheWritersOwnForm() throws Exception {
        Path file = temp.resolve("submission.csv");
        try (SubmissionWriter first = SubmissionWriter.create(file)) {
            first.append("101", probabilities(0));
        }
        List<String> written = Files.readAllLines(file);
        // the same doubles spelt otherwise: a trailing zero on every value, and one value as
        // a power of ten
        List<String> respelt = new java.util.ArrayList<>(List.of(written.getFirst()));
        for (String line : written.subList(1, written.size())) {
            respelt.add(line.replace(",", "0,").replaceFirst("^([^,]*)0,", "$1,") + "0");
        }
        String[] first = written.get(1).split(",");
        respelt.set(1, first[0] + "," + new java.math.BigDecimal(first[1]).scaleByPowerOfTen(1)
                + "e-1," + first[2] + "," + first[3]);
        Files.write(file, respelt);

        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            assertEquals(Set.of("101"), resumed.completedStudies());
        }
        assertEquals(written, Files.readAllLines(file));
    }

    @Test
    void anEmptySubmissionResumesAsNoStudies() throws Exception {
        Path file = Files.writeString(temp.resolve("submission.csv"), "");
        try (SubmissionWriter resumed = SubmissionWriter.resume(file)) {
            assertTrue(resumed.completedStudies().isEmpty());
            resumed.append("101", probabilities(0));
        }
        assertEquals(26, Files.readAllLines(file).size());
    }

    @Test
    void refusesUnusableProbabilitiesNamingTheTarget() throws Exception {
        try (SubmissionWriter writer = SubmissionWriter.create(temp.resolve("s.csv"))) {
            double[][] bad = probabilities(0);
            bad[Target.ALL.indexOf(Target.fromKaggleName("left_subarticular_stenosis_l4_l5")
                    .orElseThrow())] = new double[] {0.9, 0.9, 0.1};
            IllegalArgumentException sum = assertThrows(IllegalArgumentException.class,
                    () -> writer.append("1", bad));
            assertTrue(sum.getMessage().contains("left_subarticular_stenosis_l4_l5"));

            double[][] nan = probabilities(0);
            nan[0] = new double[] {Double.NaN, 0.5, 0.5};
            assertThrows(IllegalArgumentException.class, () -> writer.append("1", nan));
            assertThrows(IllegalArgumentException.class,
                    () -> writer.append("1", new double[24][]));

            writer.append("1", probabilities(0));
            assertThrows(IllegalArgumentException.class,
                    () -> writer.append("1", probabilities(0)));
            assertThrows(IllegalArgumentException.class,
                    () -> writer.append("a,b", probabilities(0)));
        }
        assertEquals(26, Files.readAllLines(temp.resolve("s.csv")).size());
    }
}
