package dev.lumbar.cli;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Backends;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.pipeline.CardNetworks;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.GivenCoordinates;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.PredictionReport;
import dev.lumbar.engine.pipeline.StudyPredictor;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.pipeline.StudyStacks;
import dev.lumbar.engine.report.ModelFingerprint;
import dev.lumbar.engine.report.StudyReport;
import dev.lumbar.engine.report.SubmissionWriter;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.Series;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.SeriesTyping;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
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
            "Grades the 25 targets of every study under --input with the ensemble --model,",
            "writing Kaggle's submission CSV and a JSON report per study. With neither",
            "--input nor --model it runs the bundled demo (an UNTRAINED ensemble on a",
            "synthetic study).",
            "",
            "Exit codes: 0 every study graded, 2 bad command line or unusable model or",
            "input, 3 some studies failed (the others are written)."})
public final class PredictCommand implements Callable<Integer> {

    static final int EXIT_USAGE = 2;
    static final int EXIT_SOME_FAILED = 3;

    private static final System.Logger LOG = System.getLogger(PredictCommand.class.getName());

    enum DeviceChoice { auto, cpu, cuda }

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
            description = "auto, cpu or cuda (default: ${DEFAULT-VALUE})")
    DeviceChoice device;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU worker threads (default: all cores)")
    Integer threads;

    @Option(names = "--coordinates", paramLabel = "FILE",
            description = "target points (train_label_coordinates.csv columns) that replace"
                    + " the stage-1 models")
    Path coordinates;

    @Option(names = "--resume", description = "keep the studies already in --out and skip them")
    boolean resume;

    /** The root command, which holds {@code --quiet} and {@code --verbose} for every verb. */
    @CommandLine.ParentCommand
    Main root;

    private boolean quiet;
    private boolean verbose;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        quiet = root != null && root.quiet;
        verbose = root != null && root.verbose();

        // the bundled demo when neither input nor model is given
        if (input == null && model == null) {
            Optional<Path> home = installationRoot();
            if (home.isEmpty()) {
                err.println("lumbar predict: cannot find the bundled demo (weights/demo); give"
                        + " --input and --model");
                return EXIT_USAGE;
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
            return EXIT_USAGE;
        }
        if (!Files.isDirectory(input)) {
            err.println("lumbar predict: --input " + input + " is not a folder");
            return EXIT_USAGE;
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
            given = coordinates == null ? GivenCoordinates.none()
                    : GivenCoordinates.read(coordinates);
            descriptions = seriesCsv == null ? SeriesDescriptions.none()
                    : SeriesDescriptions.read(seriesCsv);
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

        // the studies
        StudyScan scan;
        try {
            scan = new StudyScanner(DicomReader.standard(), descriptions).scan(input);
        } catch (StudyException e) {
            return usageError(err, e);
        }
        scan.warnings().forEach(w -> err.println("lumbar predict: warning: " + w));
        if (scan.studies().isEmpty()) {
            err.println("lumbar predict: warning: no DICOM studies found under " + input);
        }

        try (Backend backend = backend(err)) {
            if (backend == null) {
                return EXIT_USAGE;
            }
            return predictAll(scan.studies(), manifest, priors, given, backend, stdout, err);
        } catch (IOException e) {
            err.println("lumbar predict: cannot write " + out + ": " + e.getMessage());
            return EXIT_USAGE;
        }
    }

    private int predictAll(List<Study> studies, EnsembleManifest manifest, LabelPriors priors,
            GivenCoordinates given, Backend backend, PrintWriter stdout, PrintWriter err)
            throws IOException {
        Path outFile = out.toAbsolutePath();
        Files.createDirectories(outFile.getParent());
        Files.createDirectories(reportDir);
        String version = spec.root().version()[0];
        int failed = 0;
        int skipped = 0;
        try (CardNetworks networks = new CardNetworks(backend);
                SubmissionWriter submission = resume ? SubmissionWriter.resume(outFile)
                        : SubmissionWriter.create(outFile)) {
            // every network up front: a broken ensemble stops here, before any study
            StudyPredictor predictor = new StudyPredictor(manifest, networks, priors);
            long loadStart = System.nanoTime();
            List<ModelFingerprint> models;
            try {
                predictor.loadAll();
                models = networks.fingerprints();
            } catch (RuntimeException e) {
                return usageError(err, e);
            }
            if (!quiet) {
                stdout.println(String.format(Locale.ROOT, "lumbar predict: %d networks loaded on"
                        + " %s in %.2f s", networks.loadedModels().size(), backend.name(),
                        (System.nanoTime() - loadStart) / 1e9));
            }
            VolumeLoader loader = new VolumeLoader(DicomReader.standard());
            for (int i = 0; i < studies.size(); i++) {
                Study study = studies.get(i);
                String progress = String.format(Locale.ROOT, "[%d/%d] study %s", i + 1,
                        studies.size(), study.id());
                if (submission.completedStudies().contains(study.id())) {
                    skipped++;
                    if (!quiet) {
                        stdout.println(progress + ": already in " + out + ", skipped");
                    }
                    continue;
                }
                long start = System.nanoTime();
                try {
                    List<String> warnings = new ArrayList<>(study.warnings());
                    long readStart = System.nanoTime();
                    StudyResult result;
                    long readMillis;
                    try (StudyStacks stacks = StudyStacks.load(study, loader, warnings)) {
                        readMillis = (System.nanoTime() - readStart) / 1_000_000;
                        if (stacks.stacks().isEmpty()) {
                            throw new IllegalArgumentException("no usable series ("
                                    + String.join("; ", warnings) + ")");
                        }
                        result = predictor.predict(study.id(), stacks.stacks(),
                                given.forStudy(study.id()), warnings);
                        Json.writeAtomically(reportDir.resolve(study.id() + ".json"),
                                PredictionReport.of(result, manifest, version,
                                        new StudyReport.BackendInfo(backend.name(),
                                                backend.device().toString()),
                                        models, seriesEntries(study), readMillis));
                    }
                    submission.append(study.id(), probabilities(result));
                    double seconds = (System.nanoTime() - start) / 1e9;
                    long fallbacks = result.targets().stream()
                            .filter(StudyResult.TargetResult::fromPriors).count();
                    LOG.log(System.Logger.Level.DEBUG, "study {0}: {1} stacks, {2} targets from"
                            + " priors, {3} warnings, {4} s on {5}", study.id(),
                            result.stacks().size(), fallbacks, result.warnings().size(),
                            String.format(Locale.ROOT, "%.2f", seconds), backend.name());
                    if (!quiet) {
                        long series = result.stacks().stream().map(s -> s.seriesId())
                                .distinct().count();
                        stdout.println(String.format(Locale.ROOT, "%s: %d series (%d stacks),"
                                + " %d targets graded, %d from priors, %d warnings, %.2f s",
                                progress, series, result.stacks().size(), 25 - fallbacks,
                                fallbacks, result.warnings().size(), seconds));
                    }
                    for (String warning : result.warnings()) {
                        err.println("lumbar predict: study " + study.id() + ": warning: "
                                + warning);
                    }
                } catch (RuntimeException | IOException e) {
                    failed++;
                    err.println("lumbar predict: " + progress + " failed: " + message(e));
                    if (verbose) {
                        e.printStackTrace(err);
                    }
                }
            }
        }
        if (!quiet) {
            stdout.println(String.format(Locale.ROOT, "lumbar predict: %d studies graded, %d"
                    + " failed, %d skipped; submission %s, reports in %s",
                    studies.size() - failed - skipped, failed, skipped, out, reportDir));
        }
        return failed > 0 ? EXIT_SOME_FAILED : 0;
    }

    /** The study's series for the report, typed or not, named by their folders. */
    private static List<StudyReport.SeriesEntry> seriesEntries(Study study) {
        List<StudyReport.SeriesEntry> entries = new ArrayList<>();
        for (Series series : study.series()) {
            SeriesTyping typing = series.typing();
            StudyReport.TypedBy typedBy = switch (typing.rule()) {
                case SERIES_CSV -> StudyReport.TypedBy.SERIES_CSV;
                case SERIES_DESCRIPTION -> StudyReport.TypedBy.SERIES_DESCRIPTION;
                case GEOMETRY -> StudyReport.TypedBy.GEOMETRY;
                case UNDECIDED -> StudyReport.TypedBy.NOT_TYPED;
            };
            entries.add(new StudyReport.SeriesEntry(series.id(), typing.decided()
                    ? SeriesType.valueOf(typing.type().name()) : null, typedBy,
                    series.description(), series.sliceCount()));
        }
        return entries;
    }

    private Backend backend(PrintWriter err) {
        int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (workers < 1) {
            err.println("lumbar predict: --threads must be at least 1");
            return null;
        }
        try {
            return Backends.open(device.name(), workers);
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
        return EXIT_USAGE;
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
