package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lumbar predict} leaves earlier outputs alone when it refuses a run, never reads its own
 * outputs as a study, and counts a study no model graded as failed.
 */
class PredictKeepsOutputsTest {

    private static final Path DEMO = Path.of("..", "weights", "demo");

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

    private CommandRun predict(Path input, Path model, Path out, Path reports,
            String... more) {
        List<String> all = new java.util.ArrayList<>(List.of("predict", "--input",
                input.toString(), "--model", model.toString(), "--out", out.toString(),
                "--report-dir", reports.toString(), "--threads", "1"));
        all.addAll(List.of(more));
        return CommandRun.lumbar(all.toArray(String[]::new));
    }

    /** The demo ensemble with the axial points model in place of the sagittal T2 one. */
    @SuppressWarnings("unchecked")
    private Path mismatchedEnsemble() throws IOException {
        Path copy = work.resolve("ensemble");
        copyTree(DEMO.resolve("stage1"), copy.resolve("stage1"));
        copyTree(DEMO.resolve("stage2"), copy.resolve("stage2"));
        Files.copy(DEMO.resolve("../train_label_counts.csv"),
                work.resolve("train_label_counts.csv"));
        Map<String, Object> manifest = (Map<String, Object>) Json.read(
                DEMO.resolve("demo.ensemble.json"));
        Map<String, Object> sagT2 = (Map<String, Object>) ((Map<String, Object>)
                manifest.get("stage1")).get("SAG_T2");
        sagT2.put("points", "stage1/ax_t2_points.model.json");
        Path file = copy.resolve("bad.ensemble.json");
        Json.writeAtomically(file, manifest);
        return file;
    }

    /** The demo ensemble with one weight of one stage-2 network changed. */
    private Path retrainedEnsemble() throws IOException {
        Path copy = work.resolve("retrained");
        copyTree(DEMO.resolve("stage1"), copy.resolve("stage1"));
        copyTree(DEMO.resolve("stage2"), copy.resolve("stage2"));
        Files.copy(DEMO.resolve("demo.ensemble.json"), copy.resolve("demo.ensemble.json"));
        Files.copy(DEMO.resolve("../train_label_counts.csv"),
                work.resolve("train_label_counts.csv"));
        Path weights = copy.resolve("stage2/spinal_convnext_mil.safetensors");
        Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
        try (Safetensors file = Safetensors.open(weights)) {
            for (String name : file.names()) {
                tensors.put(name, file.f32(name));
            }
        }
        Tensor bias = tensors.get("fc.bias");
        bias.setFloat(0, bias.getFloat(0) + 0.7f);
        Safetensors.write(weights, tensors, Map.of());
        tensors.values().forEach(Tensor::close);
        return copy.resolve("demo.ensemble.json");
    }

    /**
     * --resume keeps only what the weights now loaded graded: a study whose report names other
     * weights is graded again, whichever file its rows were kept in.
     */
    @Test
    void resumingWithOtherWeightsGradesTheStudiesAgain() throws IOException {
        Path out = work.resolve("rw/s.csv");
        Path reports = work.resolve("rw/reports");
        CommandRun first = predict(phantoms, DEMO.resolve("demo.ensemble.json"), out, reports);
        assertEquals(0, first.exit(), first.err());
        String before = Files.readString(out);

        Path retrained = retrainedEnsemble();
        CommandRun resumed = predict(phantoms, retrained, out, reports, "--resume");
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.err().contains("study 1001: in " + out.toAbsolutePath()
                + " but its report " + reports.resolve("1001.json")
                + " says it was graded with other weights; graded again"), resumed.err());
        assertFalse(before.equals(Files.readString(out)), "the new weights' rows are written");

        CommandRun again = predict(phantoms, retrained, out, reports, "--resume");
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.out().contains("already in"), again.out());

        // the same weights under other settings (here a member's weight in the ensemble)
        Path manifest = retrained;
        Files.writeString(manifest, Files.readString(manifest).replaceFirst(
                "\"weight\": *[0-9.]+", "\"weight\": 0.5"));
        CommandRun resettled = predict(phantoms, retrained, out, reports, "--resume");
        assertEquals(0, resettled.exit(), resettled.err());
        assertTrue(resettled.err().contains("graded with other ensemble settings"),
                resettled.err());

        // resumed on other input, the rows of the studies not in it are kept, and counted
        Path other = work.resolve("other");
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(8).withStudyId("1002")),
                other);
        CommandRun elsewhere = predict(other, DEMO.resolve("demo.ensemble.json"), out, reports,
                "--resume");
        assertEquals(0, elsewhere.exit(), elsewhere.err());
        assertTrue(elsewhere.err().contains("1 study in " + out.toAbsolutePath() + " is not in"
                + " the input; its rows are kept as they are (it has no report in "
                + reports + " from these weights, settings, coordinates and series CSV)"),
                elsewhere.err());
        List<String> rows = Files.readAllLines(out);
        assertEquals(1 + 2 * 25, rows.size());
        // the input's studies first, then those kept from before
        assertTrue(rows.get(1).startsWith("1002_") && rows.get(26).startsWith("1001_"),
                rows.get(1) + " / " + rows.get(26));
    }

    /**
     * The submission cannot be written at the end of a run (its path has become a folder while
     * the studies were graded, which no user, root included, can replace with a file): the
     * error, not the summary, ends the run and says that the journal keeps the rows and that
     * --resume writes them, which it then does without grading again.
     */
    @Test
    void aSubmissionThatCannotBeWrittenAtTheEndSaysTheJournalKeepsItsRowsForResume()
            throws Exception {
        Path input = work.resolve("batch");
        for (int seed = 21; seed <= 23; seed++) {
            PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(seed)
                    .withStudyId("60" + seed)), input);
        }
        Path out = work.resolve("late/s.csv");
        Path journal = work.resolve("late/s.csv.partial");
        Path reports = work.resolve("late/reports");

        // the journal is made once the ensemble has loaded, before the first study is read:
        // the path is taken then, while three studies are still to be graded
        CompletableFuture<CommandRun> running = CompletableFuture.supplyAsync(() -> predict(
                input, DEMO.resolve("demo.ensemble.json"), out, reports, "--device", "cpu"));
        while (!Files.exists(journal) && !running.isDone()) {
            Thread.sleep(1);
        }
        Files.createDirectories(out);
        CommandRun run = running.get(5, TimeUnit.MINUTES);

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertFalse(run.out().contains("submission " + out), "no summary says it was written: "
                + run.out());
        assertTrue(run.err().contains("3 studies graded, 0 failed, 0 skipped, but the"
                + " submission " + out + " could not be written: "), run.err());
        assertTrue(run.err().contains("the rows of the 3 studies in it are kept in the journal "
                + journal.toAbsolutePath()), run.err());
        assertTrue(run.err().contains("run the same command with --resume"), run.err());
        assertEquals(1 + 3 * 25, Files.readAllLines(journal).size());

        Files.delete(out);
        CommandRun resumed = predict(input, DEMO.resolve("demo.ensemble.json"), out, reports,
                "--device", "cpu", "--resume");
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.out().contains("0 studies graded, 0 failed, 3 skipped"),
                resumed.out());
        assertEquals(1 + 3 * 25, Files.readAllLines(out).size());
        assertFalse(Files.exists(journal));
    }

    /**
     * --resume keeps only what the same --coordinates and --series-csv files graded, or the
     * same absence of one: a study graded under other files is graded again, saying which,
     * and so is one whose report does not say (written before reports recorded them).
     */
    @Test
    @SuppressWarnings("unchecked")
    void resumingWithOtherCoordinatesOrSeriesCsvGradesTheStudiesAgain() throws IOException {
        Path out = work.resolve("rc/s.csv");
        Path reports = work.resolve("rc/reports");
        Path report = reports.resolve("1001.json");
        Path model = DEMO.resolve("demo.ensemble.json");
        Path points = Files.copy(phantoms.resolve(PhantomWriter.LABEL_COORDINATES_CSV),
                work.resolve("points.csv"));
        Path series = Files.copy(phantoms.resolve(PhantomWriter.SERIES_CSV),
                work.resolve("series.csv"));
        String graded = "study 1001: in " + out.toAbsolutePath() + " but its report " + report
                + " ";
        CommandRun first = predict(phantoms, model, out, reports);
        assertEquals(0, first.exit(), first.err());
        Map<String, Object> files = (Map<String, Object>) ((Map<String, Object>) Json.read(
                report)).get("input_files");
        assertTrue(files.containsKey("coordinates_sha256") && files.get("coordinates_sha256")
                == null && files.get("series_csv_sha256") == null, files.toString());

        CommandRun withPoints = predict(phantoms, model, out, reports, "--resume",
                "--coordinates", points.toString());
        assertEquals(0, withPoints.exit(), withPoints.err());
        assertTrue(withPoints.err().contains(graded + "says it was graded without"
                + " --coordinates; graded again"), withPoints.err());

        CommandRun same = predict(phantoms, model, out, reports, "--resume", "--coordinates",
                points.toString());
        assertEquals(0, same.exit(), same.err());
        assertTrue(same.out().contains("already in"), same.out());

        Files.writeString(points, Files.readString(points).replaceFirst("\n[^\n]*\n$",
                "\n"));
        CommandRun edited = predict(phantoms, model, out, reports, "--resume", "--coordinates",
                points.toString());
        assertEquals(0, edited.exit(), edited.err());
        assertTrue(edited.err().contains(graded + "says it was graded with another"
                + " --coordinates file (other contents); graded again"), edited.err());

        CommandRun without = predict(phantoms, model, out, reports, "--resume");
        assertEquals(0, without.exit(), without.err());
        assertTrue(without.err().contains(graded + "says it was graded with --coordinates,"
                + " which this run does not give; graded again"), without.err());

        CommandRun typed = predict(phantoms, model, out, reports, "--resume", "--series-csv",
                series.toString());
        assertEquals(0, typed.exit(), typed.err());
        assertTrue(typed.err().contains(graded + "says it was graded without --series-csv;"
                + " graded again"), typed.err());

        // a report from before input_files was recorded: unknown, so graded again
        Map<String, Object> old = (Map<String, Object>) Json.read(report);
        old.remove("input_files");
        Json.writeAtomically(report, old);
        CommandRun unknown = predict(phantoms, model, out, reports, "--resume", "--series-csv",
                series.toString());
        assertEquals(0, unknown.exit(), unknown.err());
        assertTrue(unknown.err().contains(graded + "does not say which --coordinates and"
                + " --series-csv files it was graded with (a report of an earlier version);"
                + " graded again"), unknown.err());
        assertEquals(1 + 25, Files.readAllLines(out).size());
    }

    /**
     * --resume keeps a study only where its rows are those its report gives: rows edited by
     * hand, or a report rewritten by a run stopped before it appended the rows, have the
     * study graded again, and the rows then agree with the report once more.
     */
    @Test
    void resumingGradesAgainAStudyWhoseRowsDisagreeWithItsReport() throws IOException {
        Path out = work.resolve("rr/s.csv");
        Path reports = work.resolve("rr/reports");
        Path model = DEMO.resolve("demo.ensemble.json");
        CommandRun first = predict(phantoms, model, out, reports);
        assertEquals(0, first.exit(), first.err());
        List<String> graded = Files.readAllLines(out);

        // two rows edited: the first row's probabilities swapped, the last's replaced
        List<String> edited = new java.util.ArrayList<>(graded);
        String[] cells = edited.get(1).split(",");
        edited.set(1, cells[0] + "," + cells[3] + "," + cells[2] + "," + cells[1]);
        String last = edited.getLast();
        edited.set(edited.size() - 1, last.substring(0, last.indexOf(',')) + ",0.9,0.05,0.05");
        Files.write(out, edited);
        CommandRun again = predict(phantoms, model, out, reports, "--resume");
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.err().contains("gives other probabilities than 2 of its rows"),
                again.err());
        assertEquals(graded, Files.readAllLines(out), "graded again, as before");

        // the report of another grading over rows it did not write
        Path report = reports.resolve("1001.json");
        String text = Files.readString(report);
        String firstProbability = graded.get(1).split(",")[1];
        Files.writeString(report, text.replaceFirst(java.util.regex.Pattern.quote(
                firstProbability), "0.125"));
        CommandRun stale = predict(phantoms, model, out, reports, "--resume");
        assertEquals(0, stale.exit(), stale.err());
        assertTrue(stale.err().contains("gives other probabilities than 1 of its rows"),
                stale.err());

        CommandRun kept = predict(phantoms, model, out, reports, "--resume");
        assertEquals(0, kept.exit(), kept.err());
        assertTrue(kept.out().contains("already in"), kept.out());
        assertEquals(graded, Files.readAllLines(out));
    }

    /**
     * --resume grades again a study whose folder no longer holds the files it was graded
     * from (a slice removed here; a series added is the same), and one whose report is
     * another study's.
     */
    @Test
    void resumingGradesAgainAStudyWhoseFilesChanged() throws IOException {
        Path input = work.resolve("changed-input");
        copyTree(phantoms, input);
        Path out = work.resolve("sc/s.csv");
        Path reports = work.resolve("sc/reports");
        Path model = DEMO.resolve("demo.ensemble.json");
        CommandRun first = predict(input, model, out, reports);
        assertEquals(0, first.exit(), first.err());

        Path slice;
        try (Stream<Path> files = Files.walk(input.resolve("1001"))) {
            slice = files.filter(f -> f.toString().endsWith(".dcm")).sorted().toList().getLast();
        }
        Files.delete(slice);
        CommandRun again = predict(input, model, out, reports, "--resume");
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.err().contains("was graded from other files than the study folder now"
                + " holds (files added, removed, renamed or resized); graded again"),
                again.err());

        Path report = reports.resolve("1001.json");
        Files.writeString(report, Files.readString(report).replaceFirst(
                "\"study\": \"1001\"", "\"study\": \"2002\""));
        CommandRun other = predict(input, model, out, reports, "--resume");
        assertEquals(0, other.exit(), other.err());
        assertTrue(other.err().contains("is another study's report; graded again"),
                other.err());

        CommandRun kept = predict(input, model, out, reports, "--resume");
        assertTrue(kept.out().contains("already in"), kept.out());
    }

    /**
     * A study's files are compared as the same files however --input is spelt: a pile of
     * loose files (whose study folder the scan finds absolute) given relative, then absolute.
     */
    @Test
    void resumingFromAnotherSpellingOfTheInputKeepsAnUnchangedStudy() throws IOException {
        Path pile = work.resolve("pile");
        Files.createDirectories(pile);
        try (Stream<Path> files = Files.walk(phantoms.resolve("1001"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".dcm")).toList()) {
                Files.copy(f, pile.resolve(f.getParent().getFileName() + "_" + f.getFileName()));
            }
        }
        Path relative = Path.of("").toAbsolutePath().relativize(pile.toAbsolutePath());
        Path out = work.resolve("sp/s.csv");
        Path reports = work.resolve("sp/reports");
        Path model = DEMO.resolve("demo.ensemble.json");
        CommandRun first = predict(relative, model, out, reports);
        assertEquals(0, first.exit(), first.err());

        CommandRun again = predict(pile.toAbsolutePath(), model, out, reports, "--resume");
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.out().contains("already in"), again.out() + again.err());
    }

    /** A report path taken by a folder is named, with the reason, not as an IOException. */
    @Test
    void aReportPathThatIsAFolderIsNamed() throws IOException {
        Path reports = Files.createDirectories(work.resolve("rf/reports/1001.json"))
                .getParent();
        CommandRun run = predict(phantoms, DEMO.resolve("demo.ensemble.json"),
                work.resolve("rf/s.csv"), reports);
        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains(reports.resolve("1001.json").toAbsolutePath()
                + ": is a folder"), run.err());
    }

    @Test
    void aJournalThatIsNotASubmissionIsNamedWithTheWayOut() throws IOException {
        Path out = Files.createDirectories(work.resolve("bj")).resolve("s.csv");
        Files.writeString(work.resolve("bj/s.csv.partial"), "hello,world\n");
        CommandRun run = predict(phantoms, DEMO.resolve("demo.ensemble.json"), out,
                work.resolve("bj/reports"), "--resume");
        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains("cannot resume the submission: " + out.toAbsolutePath()
                + ".partial: not a submission"), run.err());
        assertTrue(run.err().contains("run without --resume"), run.err());
    }

    @Test
    void aRejectedEnsembleLeavesAnEarlierSubmissionWholeAndCreatesNoFolder()
            throws IOException {
        Path model = mismatchedEnsemble();
        Path earlier = Files.createDirectories(work.resolve("e2")).resolve("s.csv");
        String text = "row_id,normal_mild,moderate,severe\nearlier rows kept as they are\n";
        Files.writeString(earlier, text);

        CommandRun run = predict(phantoms, model, earlier, work.resolve("e2/reports"));

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains("targets"), run.err());
        assertEquals(text, Files.readString(earlier), "the earlier submission is untouched");
        assertFalse(Files.exists(work.resolve("e2/s.csv.partial")));
        assertFalse(Files.exists(work.resolve("e2/reports")), "no report folder is made");

        CommandRun fresh = predict(phantoms, model, work.resolve("new/s.csv"),
                work.resolve("new/reports"));
        assertEquals(Main.BAD_INPUT, fresh.exit(), fresh.err());
        assertFalse(Files.exists(work.resolve("new")), "no empty output folder is left");
    }

    @Test
    void outOfRangeThreadsAndTimeoutSayTheLimits() {
        Path model = DEMO.resolve("demo.ensemble.json");
        CommandRun threads = CommandRun.lumbar("predict", "--input", phantoms.toString(),
                "--model", model.toString(), "--out", work.resolve("o/s.csv").toString(),
                "--threads", "100000");
        assertEquals(Main.BAD_INPUT, threads.exit(), threads.err());
        assertTrue(threads.err().contains("between 1 and 1024"), threads.err());

        CommandRun timeout = predict(phantoms, model, work.resolve("o/s.csv"),
                work.resolve("o/r"), "--study-timeout", "1e12");
        assertEquals(Main.BAD_INPUT, timeout.exit(), timeout.err());
        assertTrue(timeout.err().contains("at most 1000000000"), timeout.err());
        assertFalse(Files.exists(work.resolve("o")));
    }

    @Test
    void outputsUnderTheInputAreNotReadAsAStudyOnTheNextRun() throws IOException {
        Path input = work.resolve("bi");
        copyTree(phantoms.resolve("1001"), input.resolve("1001"));
        Path model = DEMO.resolve("demo.ensemble.json");
        Path out = input.resolve("out/s.csv");
        Path reports = input.resolve("out/rep");

        CommandRun first = predict(input, model, out, reports);
        assertEquals(0, first.exit(), first.err());
        List<String> rows = Files.readAllLines(out);
        // a journal left by a crash lies there too
        Files.writeString(input.resolve("out/s.csv.partial"), String.join("\n", rows) + "\n");

        CommandRun second = predict(input, model, out, reports);

        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("[1/1] study 1001"), second.out());
        assertEquals(1, second.err().split("output folders lie under --input", -1).length - 1,
                second.err());
        assertEquals(rows, Files.readAllLines(out));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStudyNoModelCouldGradeFailsInsteadOfTakingThePriors() throws IOException {
        Path input = work.resolve("in");
        copyTree(phantoms.resolve("1001"), input.resolve("1001"));
        for (String line : Files.readAllLines(phantoms.resolve(PhantomWriter.SERIES_CSV))) {
            String[] cells = line.split(",");
            if (cells.length == 3 && cells[2].startsWith("Sagittal")) {
                try (Stream<Path> files = Files.walk(input.resolve("1001/" + cells[1]))) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }

        CommandRun run = predict(input, DEMO.resolve("demo.ensemble.json"),
                work.resolve("out/s.csv"), work.resolve("out/reports"));

        assertEquals(PredictCommand.EXIT_SOME_FAILED, run.exit(), run.err());
        assertTrue(run.err().contains("no target was graded by any model"), run.err());
        Map<String, Object> report = (Map<String, Object>) Json.read(
                work.resolve("out/reports/1001.json"));
        assertEquals("failed", report.get("status"));
        assertTrue(((Map<String, Object>) report.get("failure")).get("message").toString()
                .contains("no target was graded by any model"), report.toString());
        assertEquals(List.of("row_id,normal_mild,moderate,severe"),
                Files.readAllLines(work.resolve("out/s.csv")));
    }
}
