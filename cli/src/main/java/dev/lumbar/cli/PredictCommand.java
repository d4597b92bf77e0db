package dev.lumbar.cli;

import dev.lumbar.engine.LimitExceededException;
import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.batch.BatchRunner;
import dev.lumbar.engine.batch.StudyEngine;
import dev.lumbar.engine.batch.StudyFailure;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Backends;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.io.AtomicFile;
import dev.lumbar.engine.io.IoProblems;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.TextFiles;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.GivenCoordinates;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.PredictionReport;
import dev.lumbar.engine.pipeline.Stack;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.pipeline.StudyStacks;
import dev.lumbar.engine.report.ModelFingerprint;
import dev.lumbar.engine.report.StudyReport;
import dev.lumbar.engine.report.SubmissionWriter;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyException;
import dev.lumbar.engine.study.StudyScan;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lumbar predict}: grades every study under a folder with an ensemble and writes the
 * submission CSV and one JSON report per study. A study that fails is reported and skipped.
 */
@Command(name = "predict",
        mixinStandardHelpOptions = true,
        description = {
            "Grades the 25 targets of every study under --input with an ensemble.",
            "Writes Kaggle's submission CSV and a JSON report per study. With neither",
            "--input nor --model it runs the bundled demo (an UNTRAINED ensemble on a",
            "synthetic study).",
            "",
            "A study that fails for any reason (unreadable input, out of memory, a native",
            "error, past --study-timeout) is reported on stderr and in its JSON report",
            "(status failed, with the reason) and the batch goes on. On a GPU, bags that do",
            "not fit are graded in smaller batches; a study that still does not fit is",
            "graded on the CPU, and its report says so. A study stuck where it cannot be",
            "stopped (a read that never returns) is abandoned 30 s after its limit.",
            "",
            "Exit codes: 0 every study graded, 1 an internal error (a bug; the message",
            "says where), 2 bad command line, no usable device, or unusable model, input or",
            "output path (no studies found included; a submission that cannot be written",
            "at the end too: its rows stay in the journal for --resume), 3 some studies",
            "failed (the others are written, a failed study has no rows), 143 stopped by a",
            "signal (TERM, HUP, Ctrl-C) through the lumbar launcher: --resume goes on."})
public final class PredictCommand implements Callable<Integer> {

    static final int EXIT_SOME_FAILED = 3;

    private static final System.Logger LOG = System.getLogger(PredictCommand.class.getName());

    /** How long past its limit a study that cannot be stopped is waited for. */
    private static final Duration ABANDON_GRACE = Duration.ofSeconds(30);

    /** The longest --study-timeout (about 31 years): far past any study, and exact in ns. */
    static final double MAX_STUDY_TIMEOUT_SECONDS = 1e9;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-i", "--input"}, paramLabel = "DIR",
            description = "a folder of studies, or one study folder")
    Path input;

    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "ensemble manifest (*.ensemble.json, lumbar-ensemble/1)")
    Path model;

    @Option(names = "--series-csv", paramLabel = "FILE",
            description = "study_id,series_id,series_description, as Kaggle ships it")
    Path seriesCsv;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", defaultValue = "out/submission.csv",
            description = "submission CSV (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--report-dir", paramLabel = "DIR", defaultValue = "out/reports",
            description = "folder for the per-study JSON reports (default: ${DEFAULT-VALUE})")
    Path reportDir;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}: the GPU"
                    + " when one works, else the CPU)")
    String device;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU worker threads (default: all cores)")
    Integer threads;

    @Option(names = "--coordinates", paramLabel = "FILE",
            description = "target points (train_label_coordinates.csv columns) that replace"
                    + " the stage-1 models for the targets they give; the others are still"
                    + " located by stage 1")
    Path coordinates;

    @Option(names = "--resume", description = "carry on the last run: keep the studies it"
            + " finished and skip them (those in its journal, --out with .partial added, after"
            + " a stop; else those in --out); a study graded with other weights, settings,"
            + " --coordinates or --series-csv is graded again")
    boolean resume;

    @Option(names = "--study-timeout", paramLabel = "SECONDS", defaultValue = "600",
            description = "time limit per study; a study past it is abandoned, reported as"
                    + " failed, and the batch goes on (default: ${DEFAULT-VALUE})")
    double studyTimeoutSeconds;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
            description = "studies graded at once, sharing one loaded ensemble; outputs equal"
                    + " a run with 1 (default: ${DEFAULT-VALUE})")
    int workers;

    /** The root command, which holds {@code --quiet} and {@code --verbose} for every verb. */
    @CommandLine.ParentCommand
    Main root;

    private boolean quiet;
    private boolean verbose;

    /** The --coordinates and --series-csv files by their hashes, as reports record them. */
    private PredictionReport.InputFiles inputFiles = PredictionReport.InputFiles.NONE;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        // a run stopped by a signal (a scheduler, Ctrl-C) says what it leaves behind
        stopNote = "stopped before any study was graded; no output was written";
        Thread sayWhereItStopped = new Thread(() -> {
            err.println("lumbar predict: " + stopNote);
            err.flush();
        });
        Runtime.getRuntime().addShutdownHook(sayWhereItStopped);
        try {
            return predict(err);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(sayWhereItStopped);
            } catch (IllegalStateException e) {
                // the JVM is already stopping: the note is being printed
            }
        }
    }

    /** What a signal that stops the run now would leave behind, in words. */
    private volatile String stopNote;

    private int predict(PrintWriter err) {
        PrintWriter stdout = spec.commandLine().getOut();
        quiet = root != null && root.quiet;
        verbose = root != null && root.verbose();

        // the bundled demo when neither input nor model is given
        if (input == null && model == null) {
            Optional<Path> home = installationRoot();
            if (home.isEmpty()) {
                err.println("lumbar predict: cannot find the bundled demo (weights/demo); give"
                        + " --input and --model");
                return Main.BAD_INPUT;
            }
            input = home.get().resolve("weights/demo/study");
            model = home.get().resolve("weights/demo/demo.ensemble.json");
            if (!quiet) {
                stdout.println("lumbar predict: running the bundled demo: " + input
                        + " with " + model + " (UNTRAINED weights: the probabilities are"
                        + " meaningless)");
            }
        } else if (input == null || model == null) {
            err.println("lumbar predict: give both --input and --model, or neither to run the"
                    + " bundled demo");
            return Main.BAD_INPUT;
        }
        if (workers < 1) {
            err.println("lumbar predict: --workers must be at least 1");
            return Main.BAD_INPUT;
        }
        if (!(studyTimeoutSeconds > 0) || studyTimeoutSeconds > MAX_STUDY_TIMEOUT_SECONDS) {
            err.println("lumbar predict: --study-timeout must be a positive number of seconds,"
                    + " at most " + (long) MAX_STUDY_TIMEOUT_SECONDS);
            return Main.BAD_INPUT;
        }
        if (!Files.isDirectory(input)) {
            err.println("lumbar predict: --input " + Redaction.path(input) + " is not a folder");
            return Main.BAD_INPUT;
        }

        if (threads != null && (threads < 1 || threads > ForwardCommand.MAX_THREADS)) {
            err.println("lumbar predict: --threads must be between 1 and "
                    + ForwardCommand.MAX_THREADS + ", got " + threads);
            return Main.BAD_INPUT;
        }

        try {
            Backends.requireKnown(device);
        } catch (IllegalArgumentException e) {
            err.println("lumbar predict: --" + e.getMessage());
            return Main.BAD_INPUT;
        }

        // the output paths before anything slow: a bad path is found before loading or
        // grading; nothing is created until the ensemble has loaded
        String outputProblem = checkOutputs();
        if (outputProblem != null) {
            err.println("lumbar predict: " + outputProblem);
            return Main.BAD_INPUT;
        }

        // the ensemble, its priors and the given points
        EnsembleManifest manifest;
        LabelPriors priors;
        GivenCoordinates given;
        SeriesDescriptions descriptions;
        try {
            manifest = EnsembleManifest.read(model);
            priors = manifest.priors() == null ? LabelPriors.uniform()
                    : LabelPriors.read(manifest.priors());
            // each read once: the bytes parsed are the bytes the reports' hashes name, even
            // where the file is a pipe or changes while the batch runs
            byte[] coordinateBytes = coordinates == null ? null
                    : TextFiles.read(coordinates, "the coordinates file");
            byte[] seriesCsvBytes = seriesCsv == null ? null
                    : TextFiles.read(seriesCsv, "the series CSV");
            given = coordinates == null ? GivenCoordinates.none()
                    : GivenCoordinates.parse(coordinates, coordinateBytes);
            descriptions = seriesCsv == null ? SeriesDescriptions.none()
                    : SeriesDescriptions.parse(seriesCsv, seriesCsvBytes);
            inputFiles = new PredictionReport.InputFiles(
                    coordinates == null ? null : ModelFingerprint.sha256(coordinateBytes),
                    seriesCsv == null ? null : ModelFingerprint.sha256(seriesCsvBytes), null);
        } catch (IllegalArgumentException | IOException e) {
            return usageError(err, e);
        }
        if (manifest.priors() == null) {
            err.println("lumbar predict: warning: the ensemble names no label priors; targets no"
                    + " member can grade get 1/3 each");
        }
        if (!manifest.trained() && !quiet) {
            stdout.println("lumbar predict: note: ensemble '" + manifest.name()
                    + "' is marked untrained");
        }

        // the device before the studies: a GPU that is not there is said at once, not after
        // a long scan
        try (Backend backend = backend(err)) {
            if (backend == null) {
                return Main.BAD_INPUT;
            }
            // the studies
            StudyScan scan;
            try {
                scan = new StudyScanner(DicomReader.standard(), descriptions).scan(input);
            } catch (StudyException e) {
                return usageError(err, e);
            }
            scan.warnings().forEach(w -> err.println("lumbar predict: warning: " + w));
            List<Path> ownOutputs = ownOutputsUnderInput();
            if (!ownOutputs.isEmpty()) {
                err.println("lumbar predict: warning: the output folders lie under --input; they"
                        + " are not scanned for studies");
            }
            List<Study> studies = scan.studies().stream()
                    .filter(s -> !within(s.directory(), ownOutputs)).toList();
            emptyStudyFolders(studies, ownOutputs).forEach(folder -> err.println(
                    "lumbar predict: warning: study folder " + Redaction.name(folder)
                            + " holds no DICOM files; skipped"));
            Set<String> folders = new HashSet<>();
            studies.forEach(study -> folders.add(study.folder()));
            long elsewhere = given.studies().stream().filter(f -> !folders.contains(f)).count();
            if (elsewhere > 0) {
                // a whole data set's file given for part of it; the folders are not named,
                // as they may carry patient identifiers
                err.println("lumbar predict: warning: --coordinates gives points for "
                        + count(elsewhere, "study", "studies") + " not in the input; those"
                        + " rows are ignored");
            }
            if (studies.isEmpty()) {
                err.println("lumbar predict: no DICOM studies found under "
                        + Redaction.path(input) + "; nothing to grade");
                return Main.BAD_INPUT;
            }
            return predictAll(studies, manifest, priors, given, backend, stdout, err);
        } catch (IOException e) {
            err.println("lumbar predict: cannot write the outputs (" + out + ", " + reportDir
                    + "): " + describe(e));
            return Main.BAD_INPUT;
        }
    }

    /**
     * Checks that {@code --out} names a file in a folder and {@code --report-dir} a folder,
     * and returns what is wrong, naming the path, or null when both look usable. Creates
     * nothing: a run refused later (a bad ensemble) must leave no folder behind.
     */
    String checkOutputs() {
        Path outFile = out.toAbsolutePath();
        Path reports = reportDir.toAbsolutePath();
        if (Files.isDirectory(outFile)) {
            return "--out " + out + " is a folder; give the path of the submission CSV file";
        }
        try {
            AtomicFile.replaceable(outFile);
        } catch (IOException e) {
            return "--out " + e.getMessage();
        }
        if (Files.exists(reports) && !Files.isDirectory(reports)) {
            return "--report-dir " + reportDir + " is a file, not a folder";
        }
        String outFolder = folderProblem("--out", out, outFile.getParent());
        if (outFolder != null) {
            return outFolder;
        }
        return folderProblem("--report-dir", reportDir, reports);
    }

    /**
     * Creates the output folders, once the ensemble has loaded, and returns what is wrong,
     * naming the path, or null when both are usable.
     */
    String createOutputs() {
        Path outFile = out.toAbsolutePath();
        Path reports = reportDir.toAbsolutePath();
        try {
            Files.createDirectories(outFile.getParent());
            Files.createDirectories(reports);
        } catch (IOException e) {
            return "cannot create the output folders for " + out + " and " + reportDir + ": "
                    + describe(e);
        }
        if (!Files.isWritable(outFile.getParent())) {
            return "--out " + out + ": the folder " + outFile.getParent() + " is not writable";
        }
        if (!Files.isWritable(reports)) {
            return "--report-dir " + reportDir + " is not writable";
        }
        return null;
    }

    /** What stops {@code folder} (or the folder above it) from being made, or null. */
    private static String folderProblem(String option, Path given, Path folder) {
        for (Path p = folder; p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                if (!Files.isDirectory(p)) {
                    return option + " " + given + ": " + p + " is a file, so no folder can be"
                            + " made there";
                }
                // refused now, not after every study has been read and graded
                return Files.isWritable(p) ? null : option + " " + given + ": the folder " + p
                        + " is not writable";
            }
        }
        return null;
    }

    /**
     * The folders directly under a batch's {@code --input} that gave no study: a study folder
     * left empty (or holding no DICOM), which the batch would otherwise drop without a word.
     * Nothing when {@code --input} is itself a study.
     */
    private List<String> emptyStudyFolders(List<Study> studies, List<Path> ownOutputs) {
        Path root = input.toAbsolutePath().normalize();
        List<Path> used = studies.stream()
                .map(s -> s.directory().toAbsolutePath().normalize()).toList();
        if (used.contains(root)) {
            return List.of();
        }
        List<String> empty = new ArrayList<>();
        try (var folders = Files.list(root)) {
            for (Path folder : folders.sorted().toList()) {
                String name = folder.getFileName().toString();
                if (Files.isDirectory(folder) && !name.startsWith(".")
                        && !within(folder, ownOutputs)
                        && used.stream().noneMatch(u -> u.startsWith(folder))) {
                    empty.add(name);
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return empty;
    }

    /**
     * The folders this run writes (the submission's folder and the report folder) that lie
     * strictly under {@code --input}: a second run must not read the first one's outputs as a
     * study. The submission's folder is left out when it is {@code --input} itself.
     */
    private List<Path> ownOutputsUnderInput() {
        Path root = input.toAbsolutePath().normalize();
        List<Path> own = new ArrayList<>();
        for (Path folder : List.of(out.toAbsolutePath().normalize().getParent(),
                reportDir.toAbsolutePath().normalize())) {
            if (folder != null && folder.startsWith(root) && !folder.equals(root)) {
                own.add(folder);
            }
        }
        return own;
    }

    private static boolean within(Path path, List<Path> folders) {
        Path p = path.toAbsolutePath().normalize();
        return folders.stream().anyMatch(p::startsWith);
    }

    /** "1 study", "2 studies". */
    static String count(long n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }

    /** An I/O problem in words, naming the path it met, not the exception's class. */
    private static String describe(IOException e) {
        if (e.getClass() == IOException.class && e.getMessage() != null) {
            // the engine's own refusals ("<path>: is a folder; ...") say all there is
            return e.getMessage();
        }
        String reason = IoProblems.reason(e, "no such file or folder");
        return e instanceof java.nio.file.FileSystemException fse && fse.getFile() != null
                ? fse.getFile() + ": " + reason : reason;
    }

    /** One study's work as a study thread finishes it, for the committing thread to write. */
    private sealed interface StudyOutput permits AlreadyDone, Predicted {
    }

    /** The study is in the submission already (--resume). */
    private record AlreadyDone() implements StudyOutput {
    }

    /** A graded study, its report already rendered as JSON text. */
    private record Predicted(StudyResult result, String report, String backendName)
            implements StudyOutput {
    }

    private int predictAll(List<Study> studies, EnsembleManifest manifest, LabelPriors priors,
            GivenCoordinates given, Backend backend, PrintWriter stdout, PrintWriter err)
            throws IOException {
        Path outFile = out.toAbsolutePath();
        String version = spec.root().version()[0];
        int cpuThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        try (StudyEngine engine = new StudyEngine(manifest, priors, backend,
                () -> Backends.open("cpu", cpuThreads))) {
            // every network up front: a broken ensemble stops here, before any study and
            // before any output is created, opened or replaced
            long loadStart = System.nanoTime();
            List<ModelFingerprint> models;
            String settings;
            try {
                engine.loadAll();
                models = engine.fingerprints();
                settings = ModelFingerprint.sha256(manifest.settingsFiles());
            } catch (IOException | RuntimeException e) {
                return usageError(err, e);
            }
            if (!quiet) {
                stdout.println(String.format(Locale.ROOT, "lumbar predict: %d networks loaded on"
                        + " %s in %.2f s", engine.loadedModels().size(), backend.name(),
                        (System.nanoTime() - loadStart) / 1e9));
            }
            String outputProblem = createOutputs();
            if (outputProblem != null) {
                err.println("lumbar predict: " + outputProblem);
                return Main.BAD_INPUT;
            }
            // the earlier submission stays whole until the graded one replaces it atomically
            // at the end; a crash in between leaves it and the journal of this run
            SubmissionWriter started;
            try {
                started = resume ? SubmissionWriter.resume(outFile)
                        : SubmissionWriter.create(outFile);
            } catch (IOException e) {
                // a journal or submission that is not one: named, with the way out
                err.println("lumbar predict: cannot " + (resume ? "resume" : "start") + " the"
                        + " submission: " + (e instanceof java.nio.file.FileSystemException
                                ? describe(e) : e.getMessage())
                        + (resume ? "; move it away, or run without --resume to grade every"
                                + " study afresh" : ""));
                return Main.BAD_INPUT;
            }
            SubmissionWriter submission = started;
            stopNote = "stopped before the batch finished; the studies graded so far are"
                    + " kept: run the same command with --resume to grade the rest";
            Tally tally;
            try {
                tally = gradeAll(studies, manifest, version, models, settings, given,
                        backend, engine, submission, stdout, err);
            } catch (IOException | RuntimeException | Error e) {
                // a batch that broke off replaces nothing; --resume continues its journal
                submission.abandon();
                throw e;
            }

            // the submission from the journal; the summary only once it is written, so that
            // a run that could not write it does not end on a line saying where it is
            try {
                submission.close();
            } catch (IOException e) {
                return submissionNotWritten(submission, tally, e, err);
            }
            if (!quiet) {
                stdout.println(String.format(Locale.ROOT, "lumbar predict: %s graded, %d"
                        + " failed, %d skipped; submission %s, reports in %s",
                        count(tally.graded(), "study", "studies"), tally.failed(),
                        tally.skipped(), out, reportDir));
            }
            return tally.failed() > 0 ? EXIT_SOME_FAILED : 0;
        }
    }

    /** What a batch did with its studies. */
    private record Tally(int graded, int failed, int skipped) {
    }

    /**
     * Says, in place of the summary, that the graded batch could not be written as the
     * submission, and that nothing is lost: its rows stay in the journal, from which
     * {@code --resume} writes the submission without grading those studies again.
     */
    private int submissionNotWritten(SubmissionWriter submission, Tally tally, IOException e,
            PrintWriter err) {
        int rows = submission.completedStudies().size();
        try {
            submission.abandon();
        } catch (IOException closing) {
            // the journal's rows were forced to disk as each study was written
            e.addSuppressed(closing);
        }
        err.println(String.format(Locale.ROOT, "lumbar predict: %s graded, %d failed, %d"
                + " skipped, but the submission %s could not be written: %s. Nothing is"
                + " lost: the rows of the %s in it are kept in the journal %s, and the reports"
                + " in %s; once %s can be written (a writable folder, free space), run the"
                + " same command with --resume to write it without grading those studies"
                + " again", count(tally.graded(), "study", "studies"), tally.failed(),
                tally.skipped(), out, describe(e), count(rows, "study", "studies"),
                submission.journal(), reportDir, out));
        if (verbose) {
            e.printStackTrace(err);
        }
        return Main.BAD_INPUT;
    }

    private Tally gradeAll(List<Study> studies, EnsembleManifest manifest, String version,
            List<ModelFingerprint> models, String settings, GivenCoordinates given,
            Backend backend,
            StudyEngine engine, SubmissionWriter submission, PrintWriter stdout,
            PrintWriter err) throws IOException {
        int[] failed = {0};
        int[] skipped = {0};
        if (submission.incompleteStudies() > 0) {
            err.println("lumbar predict: warning: " + count(submission.incompleteStudies(),
                    "study", "studies") + " in " + submission.resumedFrom()
                    + (submission.incompleteStudies() == 1 ? " lacks some of its "
                            : " lack some of their ") + Target.COUNT + " rows, or "
                    + (submission.incompleteStudies() == 1 ? "holds" : "hold") + " values"
                    + " not written by this program (a run stopped while writing, or an edited"
                    + " file); not kept, and graded again where they are in the input");
        }
        Set<String> completed = keptStudies(submission, models, settings, studies, err);

        // studies run on study threads; their outcomes are written here, in input order
        BatchRunner.Job<StudyOutput> job = (index, deadline) -> {
            Study study = studies.get(index);
            if (completed.contains(study.id())) {
                return new AlreadyDone();
            }
            List<String> warnings = new ArrayList<>(study.warnings());
            // the study's files as they are before they are read: what --resume compares
            String studyFiles = PredictionReport.studyFilesSha256(study);
            long readStart = System.nanoTime();
            // the deadline is checked slice by slice: decoding large images can take long
            VolumeLoader loader = new VolumeLoader(DicomReader.standard(), deadline::check);
            try (StudyStacks stacks = StudyStacks.load(study, loader, warnings)) {
                long readMillis = (System.nanoTime() - readStart) / 1_000_000;
                deadline.check();
                if (stacks.stacks().isEmpty()) {
                    throw new IllegalArgumentException("no usable series ("
                            + String.join("; ", warnings) + ")");
                }
                StudyEngine.Graded graded = engine.predict(study.id(), stacks.stacks(),
                        given.forStudy(study.folder()), warnings);
                if (graded.result().targets().stream()
                        .allMatch(StudyResult.TargetResult::fromPriors)) {
                    // priors fill a partial gap; a study with nothing graded is no result
                    throw new IllegalArgumentException("no target was graded by any model"
                            + " (every target would take the priors); "
                            + whyNothingGraded(stacks.stacks(), warnings,
                                    graded.result().warnings()));
                }
                Backend used = graded.backend();
                // rendered here, on the study's thread: a value no JSON can hold fails this
                // study alone, not the writing of the batch's results
                String report = Json.write(PredictionReport.of(graded.result(), manifest,
                        version, new StudyReport.BackendInfo(used.name(),
                                used.device().toString()),
                        models, PredictionReport.series(study), readMillis, settings,
                        inputFiles.forStudy(studyFiles)));
                return new Predicted(graded.result(), report, used.name());
            }
        };
        BatchRunner.Commit<StudyOutput> commit = outcome -> {
            Study study = studies.get(outcome.index());
            String progress = String.format(Locale.ROOT, "[%d/%d] study %s",
                    outcome.index() + 1, studies.size(), study.id());
            switch (outcome) {
                case BatchRunner.Graded<StudyOutput>(var i, AlreadyDone done, var s) -> {
                    skipped[0]++;
                    if (!quiet) {
                        stdout.println(progress + ": already in "
                                + Objects.requireNonNullElse(submission.resumedFrom(), out)
                                + ", skipped");
                    }
                }
                case BatchRunner.Graded<StudyOutput>(var i, Predicted p, var seconds) ->
                    written(study, p, seconds, submission, progress, stdout, err);
                case BatchRunner.Failed<StudyOutput>(var i, StudyFailure why, var seconds) -> {
                    failed[0]++;
                    Json.writeAtomically(reportDir.resolve(study.id() + ".json"),
                            failureReport(study, why, version, backend, seconds));
                    err.println("lumbar predict: " + progress + " failed: " + why.message());
                }
            }
        };
        new BatchRunner<StudyOutput>(workers, studyTimeout(), ABANDON_GRACE)
                .run(studies.size(), job, commit);
        submission.orderBy(studies.stream().map(Study::id).toList());
        return new Tally(studies.size() - failed[0] - skipped[0], failed[0], skipped[0]);
    }

    /**
     * Why a study whose stacks were read had no target graded, in words: the kinds of series
     * it lacks first (the axial targets are placed from the sagittal T2 points, so a study
     * without sagittal series grades nothing), then what went wrong reading it. Without a
     * missing kind, every warning of the grading, which says which stage gave up.
     */
    private static String whyNothingGraded(List<Stack> stacks, List<String> readWarnings,
            List<String> gradingWarnings) {
        List<String> missing = new ArrayList<>();
        for (SeriesType type : SeriesType.values()) {
            if (stacks.stream().noneMatch(stack -> stack.type() == type)) {
                String kind = type.description();
                missing.add("no " + Character.toLowerCase(kind.charAt(0)) + kind.substring(1)
                        + " series");
            }
        }
        if (!missing.isEmpty()) {
            List<String> reasons = new ArrayList<>();
            reasons.add(String.join(", ", missing));
            reasons.addAll(readWarnings);
            return String.join("; ", reasons);
        }
        return gradingWarnings.isEmpty() ? "no usable series"
                : String.join("; ", gradingWarnings);
    }

    /**
     * The studies of a resumed submission that are kept: those whose JSON report is there,
     * readable, not a failure, and made as this run would make it ({@link #reportProblem}). The
     * others are dropped from the submission, to be graded again, so that every kept row has
     * its report.
     */
    private Set<String> keptStudies(SubmissionWriter submission, List<ModelFingerprint> models,
            String settings, List<Study> studies, PrintWriter err) {
        Set<String> weights = new HashSet<>();
        models.forEach(m -> weights.add(m.sha256()));
        Map<String, Study> inInput = new HashMap<>();
        studies.forEach(study -> inInput.put(study.id(), study));
        Set<String> kept = new HashSet<>();
        List<String> regraded = new ArrayList<>();
        int elsewhere = 0;
        int elsewhereOtherWeights = 0;
        for (String id : submission.completedStudies()) {
            Path report = reportDir.resolve(id + ".json");
            String problem;
            try {
                problem = Json.read(report) instanceof Map<?, ?> map
                        ? reportProblem(map, weights, settings, inputFiles, id,
                                inInput.get(id), submission)
                        : "is not a graded study's report";
            } catch (IOException | RuntimeException e) {
                problem = unreadable(report, e);
            }
            if (!inInput.containsKey(id)) {
                // not this run's to grade: its rows stay as they are, whatever made them
                kept.add(id);
                elsewhere++;
                elsewhereOtherWeights += problem == null ? 0 : 1;
            } else if (problem == null) {
                kept.add(id);
            } else {
                submission.forget(id);
                regraded.add("study " + id + ": in " + submission.resumedFrom() + " but its"
                        + " report " + reportDir.resolve(id + ".json") + " " + problem
                        + "; graded again");
            }
        }
        regraded.stream().limit(LISTED).forEach(line -> err.println("lumbar predict: " + line));
        if (regraded.size() > LISTED) {
            err.println("lumbar predict: … and " + (regraded.size() - LISTED) + " more studies"
                    + " graded again for such reasons");
        }
        if (elsewhere > 0) {
            err.println("lumbar predict: warning: " + count(elsewhere, "study", "studies") + " in "
                    + submission.resumedFrom() + (elsewhere == 1 ? " is" : " are") + " not in the"
                    + " input; " + (elsewhere == 1 ? "its" : "their") + " rows are kept as they"
                    + " are" + (elsewhereOtherWeights == 0 ? ""
                            : " (" + (elsewhere == 1 ? "it has" : elsewhereOtherWeights
                                    + " of them have") + " no report in "
                                    + reportDir + " from these weights, settings,"
                                    + " coordinates and series CSV)"));
        }
        return Set.copyOf(kept);
    }

    /** How many lines of one kind a batch prints before it counts the rest. */
    private static final int LISTED = 20;

    /**
     * Why a kept study's report does not vouch for its rows, or null when it does: it must
     * be a graded study's report, made with exactly the {@code weights} now loaded, the
     * ensemble {@code settings} (manifest, priors and cards) now read, and the same
     * coordinates file and series CSV, or the same absence of one. A report that does not
     * say which files it was graded with (an earlier version's) does not vouch either. For a
     * {@code study} in the input (null for one that is not), the report must also be its own,
     * from its files as they are now, and give the probabilities of its rows in
     * {@code submission}.
     */
    private static String reportProblem(Map<?, ?> map, Set<String> weights, String settings,
            PredictionReport.InputFiles files, String id, Study study,
            SubmissionWriter submission) {
        if ("failed".equals(map.get("status")) || !map.containsKey("study")) {
            return "is not a graded study's report";
        }
        // rows graded by other weights or settings are not this batch's results
        if (!weights.equals(reportedWeights(map))) {
            return "says it was graded with other weights";
        }
        if (!(map.get("ensemble") instanceof Map<?, ?> ensemble
                && settings.equals(ensemble.get("settings_sha256")))) {
            return "says it was graded with other ensemble settings (manifest, priors or"
                    + " model cards)";
        }
        // LIMITATION: a coordinates file or series CSV is compared whole, so a file edited
        // for one study has every study graded with it graded again, not that one alone.
        if (!(map.get(PredictionReport.INPUT_FILES_KEY) instanceof Map<?, ?> given)
                || !given.containsKey(PredictionReport.COORDINATES_KEY)
                || !given.containsKey(PredictionReport.SERIES_CSV_KEY)) {
            return "does not say which --coordinates and --series-csv files it was graded"
                    + " with (a report of an earlier version)";
        }
        String change = fileChange("--coordinates", files.coordinatesSha256(),
                given.get(PredictionReport.COORDINATES_KEY));
        if (change == null) {
            change = fileChange("--series-csv", files.seriesCsvSha256(),
                    given.get(PredictionReport.SERIES_CSV_KEY));
        }
        if (change != null || study == null) {
            // a study not in the input is not this run's to check further
            return change;
        }
        String changed = studyChanged(map, id, study);
        return changed != null ? changed : rowsDisagree(map, submission.rowsOf(id));
    }

    /** Why a report could not be read, in words, for the line that says it is graded again. */
    private static String unreadable(Path report, Exception e) {
        if (e instanceof LimitExceededException limit) {
            // the limit and how to raise it, without the path its message starts with
            return "is over a limit (" + IoProblems.reason(limit, "is missing") + ")";
        }
        return Files.exists(report) ? "is unreadable or truncated" : "is missing";
    }

    /**
     * Why a study's report does not vouch for the study as it is now, or null when it does:
     * the report must be this study's, and its files (each image file's path in the study
     * folder and size) those it was graded from. A series added to a study graded without
     * it, or a study folder whose contents were replaced, is graded again.
     */
    private static String studyChanged(Map<?, ?> map, String id, Study study) {
        Object named = map.get("study");
        if (!id.equals(named) && !"study".equals(named)) {
            // "study" stands for a folder name the report withholds (a UID)
            return "is another study's report";
        }
        if (!(map.get(PredictionReport.INPUT_FILES_KEY) instanceof Map<?, ?> given)
                || !(given.get(PredictionReport.STUDY_FILES_KEY) instanceof String then)) {
            return "does not say which of the study's files it was graded from (a report"
                    + " of an earlier version)";
        }
        return then.equals(PredictionReport.studyFilesSha256(study)) ? null
                : "was graded from other files than the study folder now holds (files"
                        + " added, removed, renamed or resized)";
    }

    /**
     * Why a study's rows are not those its report gives, or null when they are: each of its
     * targets' three probabilities, to the last bit (both are written from the same doubles,
     * in the shortest form that reads back the same). Rows whose report was written but not
     * they (a run stopped between the two), rows a torn later copy of the study mixed into,
     * or rows edited by hand all disagree, and the study is graded again.
     */
    private static String rowsDisagree(Map<?, ?> map, Map<String, double[]> rows) {
        int differing = 0;
        if (!(map.get("targets") instanceof List<?> targets)
                || targets.size() != rows.size()) {
            return "does not list the study's targets as its rows do";
        }
        for (Object target : targets) {
            if (!(target instanceof Map<?, ?> t)
                    || !(t.get("row_id_suffix") instanceof String suffix)
                    || !(t.get("probabilities") instanceof Map<?, ?> p)
                    || !rows.containsKey(suffix)) {
                return "does not list the study's targets as its rows do";
            }
            double[] row = rows.get(suffix);
            Object[] given = {p.get("normal_mild"), p.get("moderate"), p.get("severe")};
            for (int i = 0; i < given.length; i++) {
                if (!(given[i] instanceof Number n) || row.length != given.length
                        || Double.compare(n.doubleValue(), row[i]) != 0) {
                    differing++;
                    break;
                }
            }
        }
        return differing == 0 ? null : "gives other probabilities than " + differing + " of"
                + " its rows (the run stopped between writing the two, or the rows were edited)";
    }

    /**
     * How the file given as {@code option} now ({@code now}, its hash, null when not given)
     * differs from the one a report was graded with ({@code then}), or null when it does not.
     */
    private static String fileChange(String option, String now, Object then) {
        if (Objects.equals(now, then)) {
            return null;
        }
        if (then == null) {
            return "says it was graded without " + option;
        }
        return now == null ? "says it was graded with " + option + ", which this run does not"
                + " give" : "says it was graded with another " + option + " file (other"
                + " contents)";
    }

    /** The SHA-256 of every weights file a report names. */
    private static Set<String> reportedWeights(Map<?, ?> report) {
        Set<String> hashes = new HashSet<>();
        if (report.get("models") instanceof List<?> models) {
            for (Object model : models) {
                if (model instanceof Map<?, ?> m && m.get("sha256") instanceof String hash) {
                    hashes.add(hash);
                }
            }
        }
        return hashes;
    }

    /** Writes a graded study's report and rows, and says so. */
    private void written(Study study, Predicted p, double seconds, SubmissionWriter submission,
            String progress, PrintWriter stdout, PrintWriter err) throws IOException {
        StudyResult result = p.result();
        Json.writeTextAtomically(reportDir.resolve(study.id() + ".json"), p.report());
        submission.append(study.id(), probabilities(result));
        long fallbacks = result.targets().stream()
                .filter(StudyResult.TargetResult::fromPriors).count();
        LOG.log(System.Logger.Level.DEBUG, "study {0}: {1} stacks, {2} targets from"
                + " priors, {3} warnings, {4} s on {5}", study.id(),
                result.stacks().size(), fallbacks, result.warnings().size(),
                String.format(Locale.ROOT, "%.2f", seconds), p.backendName());
        if (!quiet) {
            long series = result.stacks().stream().map(s -> s.seriesId()).distinct().count();
            stdout.println(String.format(Locale.ROOT, "%s: %d series (%s),"
                    + " %s graded, %d from priors, %s, %.2f s",
                    progress, series, count(result.stacks().size(), "stack", "stacks"),
                    count(25 - fallbacks, "target", "targets"), fallbacks,
                    count(result.warnings().size(), "warning", "warnings"), seconds));
        }
        for (String warning : result.warnings()) {
            err.println("lumbar predict: study " + study.id() + ": warning: " + warning);
        }
    }

    /**
     * The report of a study that failed: which study, that it failed and why, in the words the
     * progress line uses, what ran, and the series the scan found (named and typed as a graded
     * study's report names them), so that a study missing a kind of series shows what it has.
     * No targets: nothing about them is certain.
     */
    private static Map<String, Object> failureReport(Study study, StudyFailure why,
            String version, Backend backend, double seconds) {
        // the graded report's own naming, so that a series folder named by UID is withheld
        Map<String, Object> found = new StudyReport(study.id(), version,
                new StudyReport.BackendInfo(backend.name(), backend.device().toString()),
                List.of(), Map.of(), PredictionReport.series(study), List.of(), List.of())
                .toMap();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("format", StudyReport.FORMAT);
        report.put("study", found.get("study"));
        report.put("status", "failed");
        Map<String, Object> failure = new LinkedHashMap<>();
        failure.put("kind", why.kind().jsonName());
        failure.put("message", why.message());
        report.put("failure", failure);
        report.put("engine", found.get("engine"));
        report.put("backend", found.get("backend"));
        report.put("timings_ms", Map.of("total", Math.rint(seconds * 1000)));
        report.put("series", found.get("series"));
        if (found.get("warnings") instanceof List<?> notes && !notes.isEmpty()) {
            report.put("warnings", notes);
        }
        return report;
    }

    private Duration studyTimeout() {
        return Duration.ofNanos(Math.round(studyTimeoutSeconds * 1e9));
    }

    private Backend backend(PrintWriter err) {
        int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (workers < 1) {
            err.println("lumbar predict: --threads must be at least 1");
            return null;
        }
        try {
            return Backends.open(device, workers);
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("lumbar predict: " + message(e));
            return null;
        }
    }

    private static double[][] probabilities(StudyResult result) {
        double[][] p = new double[Target.COUNT][];
        for (StudyResult.TargetResult t : result.targets()) {
            p[t.target().index()] = t.probabilities();
        }
        return p;
    }

    private int usageError(PrintWriter err, Exception e) {
        err.println("lumbar predict: " + message(e));
        if (verbose) {
            e.printStackTrace(err);
        }
        return Main.BAD_INPUT;
    }

    private static String message(Throwable e) {
        String text = e.getMessage();
        return text == null || text.isBlank() ? e.getClass().getSimpleName() : text;
    }

    /** The folder holding {@code weights/demo}: above the jar or classes this runs from. */
    static Optional<Path> installationRoot() {
        try {
            Path here = Path.of(PredictCommand.class.getProtectionDomain().getCodeSource()
                    .getLocation().toURI());
            for (Path p = here; p != null; p = p.getParent()) {
                if (Files.isDirectory(p.resolve("weights/demo"))) {
                    return Optional.of(p);
                }
            }
        } catch (URISyntaxException | SecurityException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
