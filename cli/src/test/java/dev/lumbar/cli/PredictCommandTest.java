package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lumbar predict} end to end: phantom studies through the demo ensemble on the CPU. */
class PredictCommandTest {

    private static final Path DEMO_MANIFEST = Path.of("..", "weights", "demo",
            "demo.ensemble.json");

    @TempDir
    static Path shared;

    private static Path phantoms;

    @TempDir
    Path work;

    @BeforeAll
    static void writePhantoms() {
        phantoms = shared.resolve("phantoms");
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(7).withStudyId("1001")),
                phantoms);
    }

    private static CommandRun predict(String... args) {
        String[] full = new String[args.length + 1];
        full[0] = "predict";
        System.arraycopy(args, 0, full, 1, args.length);
        return CommandRun.lumbar(full);
    }

    private String[] args(Path input, String... more) {
        List<String> all = new java.util.ArrayList<>(List.of("--input", input.toString(),
                "--model", DEMO_MANIFEST.toString(), "--out",
                work.resolve("out/submission.csv").toString(), "--report-dir",
                work.resolve("out/reports").toString(), "--threads", "1"));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    /** A copy of the phantom study folder, to damage. */
    private Path studyCopy() throws IOException {
        Path root = work.resolve("in");
        copyTree(phantoms.resolve("1001"), root.resolve("1001"));
        return root;
    }

    private List<String> submissionRows() throws IOException {
        return Files.readAllLines(work.resolve("out/submission.csv"));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> report(String study) throws IOException {
        return (Map<String, Object>) Json.read(work.resolve("out/reports/" + study + ".json"));
    }

    private static void assertProbabilityRows(List<String> lines, int studies) {
        assertEquals("row_id,normal_mild,moderate,severe", lines.getFirst());
        assertEquals(1 + 25 * studies, lines.size());
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",");
            double sum = 0;
            for (int k = 1; k <= 3; k++) {
                double p = Double.parseDouble(cells[k]);
                assertTrue(Double.isFinite(p) && p >= 0 && p <= 1, line);
                sum += p;
            }
            assertEquals(1, sum, 1e-3, line);
        }
    }

    @Test
    void gradesAPhantomStudyWithTheDemoEnsemble() throws IOException {
        CommandRun run = predict(args(phantoms));

        assertEquals(0, run.exit(), run.err());
        assertProbabilityRows(submissionRows(), 1);
        assertTrue(run.out().contains("[1/1] study 1001"), run.out());
        Map<String, Object> report = report("1001");
        assertEquals("lumbar-report/1", report.get("format"));
        List<?> targets = (List<?>) report.get("targets");
        assertEquals(25, targets.size());
        for (Object t : targets) {
            assertEquals(null, ((Map<?, ?>) t).get("fallback"), t.toString());
            assertFalse(((List<?>) ((Map<?, ?>) t).get("members")).isEmpty(), t.toString());
        }
        assertEquals(3, ((List<?>) report.get("series")).size());
        assertEquals(9, ((List<?>) report.get("models")).size());
        String text = Files.readString(work.resolve("out/reports/1001.json"));
        assertFalse(text.contains("1.2.826"), "a UID reached the report");
    }

    @Test
    void withoutInputOrModelItRunsTheBundledDemo() throws IOException {
        CommandRun run = predict("--out", work.resolve("out/submission.csv").toString(),
                "--report-dir", work.resolve("out/reports").toString(), "--threads", "1");

        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("UNTRAINED"), run.out());
        List<String> rows = submissionRows();
        assertProbabilityRows(rows, 1);
        String study = rows.get(1).substring(0, rows.get(1).indexOf('_'));
        Map<String, Object> report = report(study);
        assertEquals(25, ((List<?>) report.get("targets")).size());
        assertEquals(Boolean.FALSE, ((Map<?, ?>) report.get("ensemble")).get("trained"));
        Map<?, ?> timings = (Map<?, ?>) report.get("timings_ms");
        assertTrue(timings.get("stage2") instanceof Number);
        // cutting bags is part of stage 2: never more than it (stage 2 is truncated to whole ms)
        double sampling = ((Number) timings.get("stage2_sampling")).doubleValue();
        assertTrue(sampling >= 0 && sampling <= ((Number) timings.get("stage2")).doubleValue() + 1,
                timings.toString());
    }

    @Test
    void studyWithoutAxialSeriesFallsBackToPriorsWithAWarning() throws IOException {
        Path root = studyCopy();
        Path axial = axialSeriesFolder(root.resolve("1001"));
        try (Stream<Path> files = Files.walk(axial)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }

        CommandRun run = predict(args(root));

        assertEquals(0, run.exit(), run.err());
        assertProbabilityRows(submissionRows(), 1);
        assertTrue(run.err().contains("no axial T2 series"), run.err());
        long priors = ((List<?>) report("1001").get("targets")).stream()
                .filter(t -> ((Map<?, ?>) t).get("fallback") != null).count();
        assertEquals(10, priors);
    }

    @Test
    void givenCoordinatesReplaceStageOneAndShowInTheReport() throws IOException {
        // the phantom's points, and one of a study that is not in the input
        Path coordinates = Files.writeString(work.resolve("coordinates.csv"), Files.readString(
                phantoms.resolve(PhantomWriter.LABEL_COORDINATES_CSV)) + "MRN1534689,7,3,"
                + "Spinal Canal Stenosis,L1/L2,10,20\n");

        CommandRun run = predict(args(phantoms, "--coordinates", coordinates.toString()));

        assertEquals(0, run.exit(), run.err());
        assertTrue(run.err().contains("--coordinates gives points for 1 study not in the input;"
                + " those rows are ignored"), run.err());
        assertFalse((run.out() + run.err()).contains("MRN1534689"), run.err());
        List<String> given = Files.readAllLines(coordinates);
        for (Object t : (List<?>) report("1001").get("targets")) {
            Map<?, ?> target = (Map<?, ?>) t;
            assertEquals("given coordinates",
                    ((Map<?, ?>) target.get("located_by")).get("source"), t.toString());
            Map<?, ?> location = (Map<?, ?>) target.get("location");
            String xy = String.format(java.util.Locale.ROOT, "%.3f,%.3f",
                    ((Number) location.get("x")).doubleValue(),
                    ((Number) location.get("y")).doubleValue());
            assertTrue(given.stream().anyMatch(line -> line.contains(location.get("series")
                    + ",") && line.endsWith(xy)), xy);
        }
    }

    @Test
    void missingManifestAndUncreatableOutputAreSaidInWords() throws IOException {
        Path missing = work.resolve("nope.ensemble.json");
        CommandRun noManifest = predict("--input", phantoms.toString(), "--model",
                missing.toString());
        assertEquals(2, noManifest.exit(), noManifest.err());
        assertTrue(noManifest.err().contains("cannot read the manifest: no such file"),
                noManifest.err());

        // a folder the system refuses to make (not a file in the way, said before loading)
        Path proc = Path.of("/proc");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(proc));
        CommandRun noFolder = predict("--input", phantoms.toString(), "--model",
                DEMO_MANIFEST.toString(), "--out", proc.resolve("nope/s.csv").toString(),
                "--report-dir", work.resolve("out/reports").toString(), "--threads", "1");
        assertEquals(2, noFolder.exit(), noFolder.err());
        assertTrue(noFolder.err().contains("/proc/nope: no such file or folder"),
                noFolder.err());
        assertFalse(noFolder.err().contains("Exception"), noFolder.err());
    }

    @Test
    void emptyFolderIsUnusableInputAndWritesNoSubmission() throws IOException {
        Path empty = Files.createDirectories(work.resolve("empty"));

        CommandRun run = predict(args(empty));

        assertEquals(2, run.exit(), run.err());
        assertTrue(run.err().contains("no DICOM studies found"), run.err());
        assertFalse(Files.exists(work.resolve("out/submission.csv")));
    }

    @Test
    void nonDicomFilesAndACorruptSliceAreWarnings() throws IOException {
        Path root = studyCopy();
        Path study = root.resolve("1001");
        Files.writeString(study.resolve("notes.txt"), "not an image");
        Path series = axialSeriesFolder(study);
        Files.writeString(series.resolve("README.md"), "# not DICOM either");
        // a slice whose pixel data is cut short: its header reads, its pixels do not
        Path slice;
        try (Stream<Path> files = Files.list(sagittalT2Folder(study))) {
            slice = files.filter(p -> p.toString().endsWith(".dcm")).sorted().findFirst()
                    .orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(slice);
        Files.write(slice, java.util.Arrays.copyOf(bytes, bytes.length - 20_000));
        // and one whose Rows is one more than its pixel data holds
        Path misshapen;
        try (Stream<Path> files = Files.list(sagittalT2Folder(study))) {
            misshapen = files.filter(p -> p.toString().endsWith(".dcm")).sorted().skip(3)
                    .findFirst().orElseThrow();
        }
        Files.write(misshapen, oneMoreRow(Files.readAllBytes(misshapen)));

        CommandRun run = predict(args(root));

        assertEquals(0, run.exit(), run.err());
        assertProbabilityRows(submissionRows(), 1);
        assertTrue(run.err().contains("warning"), run.err());
        // each damaged slice costs only itself: the series is still graded from
        assertTrue(run.err().contains(misshapen.getFileName() + " is "), run.err());
        assertTrue(run.err().contains("; the slice is left out"), run.err());
        assertFalse(run.err().contains("is not used"), run.err());
    }

    /** The file with its Rows (0028,0010, explicit VR little endian) one larger. */
    private static byte[] oneMoreRow(byte[] dicom) {
        byte[] rows = {0x28, 0x00, 0x10, 0x00, 'U', 'S', 0x02, 0x00};
        for (int i = 0; i + rows.length + 2 <= dicom.length; i++) {
            if (java.util.Arrays.equals(dicom, i, i + rows.length, rows, 0, rows.length)) {
                int at = i + rows.length;
                int value = (dicom[at] & 0xff | (dicom[at + 1] & 0xff) << 8) + 1;
                dicom[at] = (byte) value;
                dicom[at + 1] = (byte) (value >> 8);
                return dicom;
            }
        }
        throw new AssertionError("no explicit little-endian Rows element");
    }

    @Test
    void aStudyWithNothingReadableFailsAndTheOthersAreWritten() throws IOException {
        Path root = studyCopy();
        Path broken = Files.createDirectories(root.resolve("1002/1"));
        Files.writeString(broken.resolve("1.dcm"), "DICM? no, plain text");

        CommandRun run = predict(args(root));

        assertEquals(3, run.exit(), run.err());
        assertTrue(run.err().contains("study 1002 failed"), run.err());
        assertProbabilityRows(submissionRows(), 1);
        assertTrue(submissionRows().get(1).startsWith("1001_"));
    }

    @Test
    void aBrokenEnsembleStopsBeforeAnyStudy() throws IOException {
        Path demo = DEMO_MANIFEST.getParent();
        Path copy = work.resolve("ensemble");
        copyTree(demo.resolve("stage1"), copy.resolve("stage1"));
        copyTree(demo.resolve("stage2"), copy.resolve("stage2"));
        Files.copy(DEMO_MANIFEST, copy.resolve("demo.ensemble.json"));
        Files.copy(demo.resolve("../train_label_counts.csv"),
                work.resolve("train_label_counts.csv"));
        Path weights = copy.resolve("stage2/foraminal_effnet_mil.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        CommandRun run = predict("--input", phantoms.toString(), "--model",
                copy.resolve("demo.ensemble.json").toString(), "--out",
                work.resolve("out/submission.csv").toString(), "--report-dir",
                work.resolve("out/reports").toString());

        assertEquals(2, run.exit(), run.err());
        assertTrue(run.err().contains("foraminal_effnet_mil"), run.err());
        assertFalse(run.out().contains("[1/1]"), run.out());
    }

    @Test
    void seriesCsvNamingMissingSeriesStillCompletes() throws IOException {
        Path csv = work.resolve("series.csv");
        Files.writeString(csv, """
                study_id,series_id,series_description
                1001,999999,Sagittal T1
                4242,1,Axial T2
                """);

        CommandRun run = predict(args(phantoms, "--series-csv", csv.toString()));

        assertEquals(0, run.exit(), run.err());
        assertProbabilityRows(submissionRows(), 1);
    }

    @Test
    void resumeSkipsStudiesAlreadyWritten() throws IOException {
        CommandRun quiet = predict(args(phantoms, "-q"));
        assertEquals(0, quiet.exit(), quiet.err());
        assertFalse(quiet.out().contains("[1/1]"), quiet.out());
        CommandRun again = predict(args(phantoms, "--resume"));

        assertEquals(0, again.exit(), again.err());
        assertTrue(again.out().contains("skipped"), again.out());
        assertProbabilityRows(submissionRows(), 1);
    }

    @Test
    void resumeGradesAgainAStudyWhoseReportIsGoneAndAcceptsAnEmptySubmission()
            throws IOException {
        assertEquals(0, predict(args(phantoms, "-q")).exit());
        List<String> first = submissionRows();
        Path report = work.resolve("out/reports/1001.json");
        Files.writeString(report, "{\"format\": \"lumb");

        CommandRun truncated = predict(args(phantoms, "--resume"));
        assertEquals(0, truncated.exit(), truncated.err());
        assertTrue(truncated.err().contains("unreadable or truncated; graded again"),
                truncated.err());
        assertFalse(truncated.out().contains("already in"), truncated.out());
        assertTrue(Json.read(report) instanceof Map<?, ?>);
        assertEquals(first, submissionRows());

        Files.delete(report);
        Files.writeString(work.resolve("out/submission.csv"), "");
        CommandRun empty = predict(args(phantoms, "--resume"));
        assertEquals(0, empty.exit(), empty.err());
        assertEquals(first, submissionRows());
        assertTrue(Files.exists(report));
    }

    @Test
    void badUsageIsExitCodeTwo() {
        assertEquals(2, predict("--input", work.toString()).exit());
        assertEquals(2, predict(args(work.resolve("missing"))).exit());
        assertEquals(2, predict(args(phantoms, "--device", "cuda")).exit());
        CommandRun badModel = predict("--input", phantoms.toString(), "--model",
                work.resolve("none.ensemble.json").toString());
        assertEquals(2, badModel.exit());
        assertTrue(badModel.err().contains("none.ensemble.json"), badModel.err());
    }

    private static Path axialSeriesFolder(Path study) throws IOException {
        return seriesFolder(study, "Axial T2");
    }

    private static Path sagittalT2Folder(Path study) throws IOException {
        return seriesFolder(study, "Sagittal T2/STIR");
    }

    /** The series folder the phantom's series CSV gives {@code description}. */
    private static Path seriesFolder(Path study, String description) throws IOException {
        for (String line : Files.readAllLines(phantoms.resolve(PhantomWriter.SERIES_CSV))) {
            String[] cells = line.split(",");
            if (cells.length == 3 && cells[2].equals(description)) {
                return study.resolve(cells[1]);
            }
        }
        throw new IllegalStateException("phantom has no " + description + " series");
    }
}
