package dev.lumbar.bench;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Backends;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.pipeline.CardNetworks;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.PredictionReport;
import dev.lumbar.engine.pipeline.StudyPredictor;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.pipeline.StudyStacks;
import dev.lumbar.engine.report.ModelFingerprint;
import dev.lumbar.engine.report.StudyReport;
import dev.lumbar.engine.report.SubmissionWriter;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyScan;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs the whole pipeline on one folder of studies (the bundled demo by default) several times
 * in one JVM, as {@code lumbar predict} does per study, and prints a per-stage breakdown:
 * scan (DICOM headers), read (pixels into stacks), localise (stage 1), sample (cutting bags),
 * classify (stage 2 without the sampling), write (the JSON report and the submission rows).
 * Read, localise, sample and classify are the timings the JSON report carries; scan and write
 * happen outside the pipeline and are timed here.
 *
 * <p>The first run is shown alone (cold: class loading, JIT, first-touch of memory); the other
 * runs give median, min and max. Peak resident memory is the process's {@code VmHWM}.
 *
 * <p>Arguments: {@code [runs] [threads] [studies folder] [ensemble manifest] [device]};
 * defaults 6, 2, {@code weights/demo/study}, {@code weights/demo/demo.ensemble.json},
 * {@code cpu}.
 */
public final class StudyBench {

    private static final List<String> STAGES =
            List.of("scan", "read", "localise", "sample", "classify", "write", "total");

    private StudyBench() {
    }

    public static void main(String[] args) throws IOException {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 6;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        Path input = Path.of(args.length > 2 ? args[2] : "weights/demo/study");
        Path ensemble = Path.of(args.length > 3 ? args[3] : "weights/demo/demo.ensemble.json");
        String device = args.length > 4 ? args[4] : "cpu";
        if (runs < 1 || threads < 1) {
            throw new IllegalArgumentException("runs and threads must be at least 1");
        }

        EnsembleManifest manifest = EnsembleManifest.read(ensemble);
        LabelPriors priors = manifest.priors() == null ? LabelPriors.uniform()
                : LabelPriors.read(manifest.priors());
        Path scratch = Files.createTempDirectory("lumbar-studybench");
        List<Map<String, Double>> perRun = new ArrayList<>();
        int studies = 0;
        double loadSeconds;
        // LIMITATION: runs StudyPredictor directly, as predict does with one worker and no
        // device fallback; no coordinates file or series CSV is read (stage 1 always runs,
        // series are typed from their descriptions or geometry).
        try (Backend backend = Backends.open(device, threads);
                CardNetworks networks = new CardNetworks(backend)) {
            StudyPredictor predictor = new StudyPredictor(manifest, networks, priors);
            long loadStart = System.nanoTime();
            predictor.loadAll();
            loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            List<ModelFingerprint> models = networks.fingerprints();
            StudyReport.BackendInfo backendInfo =
                    new StudyReport.BackendInfo(backend.name(), backend.device().toString());
            VolumeLoader loader = new VolumeLoader(DicomReader.standard());

            for (int run = 0; run < runs; run++) {
                Map<String, Double> times = new LinkedHashMap<>();
                STAGES.forEach(s -> times.put(s, 0.0));
                long runStart = System.nanoTime();
                StudyScan scan = new StudyScanner(DicomReader.standard(),
                        SeriesDescriptions.none()).scan(input);
                add(times, "scan", (System.nanoTime() - runStart) / 1e6);
                studies = scan.studies().size();
                Path reports = Files.createDirectories(scratch.resolve("run" + run));
                try (SubmissionWriter submission =
                        SubmissionWriter.create(reports.resolve("submission.csv"))) {
                    for (Study study : scan.studies()) {
                        List<String> warnings = new ArrayList<>(study.warnings());
                        long readStart = System.nanoTime();
                        Map<String, Object> report;
                        StudyResult result;
                        try (StudyStacks stacks = StudyStacks.load(study, loader, warnings)) {
                            long readMillis = (System.nanoTime() - readStart) / 1_000_000;
                            result = predictor.predict(study.id(), stacks.stacks(), List.of(),
                                    warnings);
                            report = PredictionReport.of(result, manifest, "bench",
                                    backendInfo, models, PredictionReport.series(study),
                                    readMillis, null, PredictionReport.InputFiles.NONE);
                        }
                        long writeStart = System.nanoTime();
                        Json.writeAtomically(reports.resolve(study.id() + ".json"), report);
                        submission.append(study.id(), probabilities(result));
                        add(times, "write", (System.nanoTime() - writeStart) / 1e6);

                        // the report's own timings: no second clock around the same work
                        @SuppressWarnings("unchecked")
                        Map<String, Object> ms = (Map<String, Object>) report.get("timings_ms");
                        double sampling = number(ms, "stage2_sampling");
                        add(times, "read", number(ms, "read"));
                        add(times, "localise", number(ms, "stage1"));
                        add(times, "sample", sampling);
                        add(times, "classify", number(ms, "stage2") - sampling);
                    }
                }
                times.put("total", (System.nanoTime() - runStart) / 1e6);
                perRun.add(times);
            }
        } finally {
            deleteTree(scratch);
        }

        printTable(runs, threads, input, studies, loadSeconds, perRun);
    }

    private static void printTable(int runs, int threads, Path input, int studies,
            double loadSeconds, List<Map<String, Double>> perRun) throws IOException {
        System.out.printf(Locale.ROOT, "%d run(s) of %d studies under %s, %d threads;"
                + " networks loaded once in %.2f s%n", runs, studies, input, threads, loadSeconds);
        System.out.printf(Locale.ROOT, "load average at the end: %s%n", loadAverage());
        System.out.println();
        System.out.println("| stage | cold ms | median ms | min ms | max ms |");
        System.out.println("|---|---:|---:|---:|---:|");
        for (String stage : STAGES) {
            double cold = perRun.getFirst().get(stage);
            double[] warm = perRun.stream().skip(1).mapToDouble(r -> r.get(stage)).sorted()
                    .toArray();
            if (warm.length == 0) {
                System.out.printf(Locale.ROOT, "| %s | %.1f | – | – | – |%n", stage, cold);
            } else {
                System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f |%n", stage,
                        cold, median(warm), warm[0], warm[warm.length - 1]);
            }
        }
        System.out.println();
        System.out.println("peak RSS (VmHWM): " + procStatus("VmHWM"));
        System.out.println("read, localise and stage-2 times come from the JSON report in whole"
                + " milliseconds; sample is fractional; classify = stage2 - sample.");
    }

    private static void add(Map<String, Double> times, String stage, double millis) {
        times.merge(stage, millis, Double::sum);
    }

    private static double number(Map<String, Object> timings, String key) {
        if (!(timings.get(key) instanceof Number n)) {
            throw new IllegalStateException("the JSON report has no timing '" + key + "'");
        }
        return n.doubleValue();
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** A line of {@code /proc/self/status}, e.g. {@code VmHWM}, or "unknown" off Linux. */
    private static String procStatus(String field) throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return "unknown (no /proc/self/status)";
        }
        return Files.readAllLines(status).stream()
                .filter(l -> l.startsWith(field + ":"))
                .map(l -> l.substring(field.length() + 1).strip())
                .findFirst().orElse("unknown");
    }

    private static String loadAverage() throws IOException {
        Path file = Path.of("/proc/loadavg");
        if (!Files.isReadable(file)) {
            return "unknown";
        }
        String[] parts = Files.readString(file).strip().split(" ");
        return String.join(" ", Arrays.copyOf(parts, Math.min(3, parts.length)));
    }

    private static double[][] probabilities(StudyResult result) {
        double[][] p = new double[Target.COUNT][];
        for (StudyResult.TargetResult t : result.targets()) {
            p[t.target().index()] = t.probabilities();
        }
        return p;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
