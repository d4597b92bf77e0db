package dev.lumbar.bench;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.pipeline.CardNetworks;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.StudyPredictor;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.pipeline.StudyStacks;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The bundled demo study graded on two backends (the GPU and the CPU): the probabilities of
 * every target compared, and the wall time of each stage timed, the first run (cold: plans,
 * JIT) apart from the median of the rest. Stacks are read once and shared by both backends,
 * so only stage 1 and stage 2 are timed.
 */
final class DemoStudyCheck {

    /** Probabilities may differ by this much between the backends (F32 on both). */
    static final double TOLERANCE = 1e-4;

    /** One backend's runs: probabilities of the last run, per-run stage times in ms. */
    record Runs(String backend, double[][] probabilities, List<double[]> millis) {
    }

    private final Path demo;
    private final int runs;

    /**
     * @param demo the {@code weights/demo} folder: {@code study/} and
     *             {@code demo.ensemble.json}
     * @param runs runs per backend, the first of them cold
     */
    DemoStudyCheck(Path demo, int runs) {
        this.demo = demo;
        this.runs = Math.max(2, runs);
    }

    /** Grades the demo's studies {@link #runs} times on {@code backend}. */
    Runs grade(Backend backend) throws IOException {
        EnsembleManifest manifest = EnsembleManifest.read(demo.resolve("demo.ensemble.json"));
        LabelPriors priors = manifest.priors() == null ? LabelPriors.uniform()
                : LabelPriors.read(manifest.priors());
        List<Study> studies = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(demo.resolve("study")).studies();
        if (studies.isEmpty()) {
            throw new IllegalStateException("no study under " + demo.resolve("study"));
        }
        VolumeLoader loader = new VolumeLoader(DicomReader.standard());
        List<double[]> millis = new ArrayList<>();
        double[][] probabilities = null;
        try (CardNetworks networks = new CardNetworks(backend)) {
            StudyPredictor predictor = new StudyPredictor(manifest, networks, priors);
            predictor.loadAll();
            for (int run = 0; run < runs; run++) {
                double[] times = new double[4];
                List<double[]> rows = new ArrayList<>();
                for (Study study : studies) {
                    List<String> warnings = new ArrayList<>(study.warnings());
                    try (StudyStacks stacks = StudyStacks.load(study, loader, warnings)) {
                        long start = System.nanoTime();
                        StudyResult result = predictor.predict(study.id(), stacks.stacks(),
                                List.of(), warnings);
                        times[0] += result.stage1Millis();
                        times[1] += result.samplingMillis();
                        times[2] += result.stage2Millis() - result.samplingMillis();
                        times[3] += (System.nanoTime() - start) / 1e6;
                        result.targets().forEach(t -> rows.add(t.probabilities().clone()));
                    }
                }
                millis.add(times);
                probabilities = rows.toArray(double[][]::new);
            }
        }
        return new Runs(backend.name(), probabilities, millis);
    }

    /** The largest difference of any probability between two backends' runs. */
    static double largestDifference(Runs a, Runs b) {
        if (a.probabilities().length != b.probabilities().length) {
            return Double.POSITIVE_INFINITY;
        }
        double worst = 0;
        for (int t = 0; t < a.probabilities().length; t++) {
            for (int k = 0; k < 3; k++) {
                worst = Math.max(worst, Math.abs(a.probabilities()[t][k]
                        - b.probabilities()[t][k]));
            }
        }
        return worst;
    }

    /** A Markdown table, one row per backend: cold and median warm ms per stage. */
    static String table(List<Runs> all) {
        StringBuilder out = new StringBuilder();
        out.append("| backend | stage 1 cold / warm ms | sampling | stage 2 (no sampling)"
                + " | total |\n|---|---:|---:|---:|---:|\n");
        for (Runs r : all) {
            out.append("| ").append(r.backend());
            for (int stage = 0; stage < 4; stage++) {
                int s = stage;
                double[] warm = r.millis().stream().skip(1).mapToDouble(m -> m[s]).sorted()
                        .toArray();
                out.append(String.format(Locale.ROOT, " | %.1f / %.1f",
                        r.millis().getFirst()[stage], median(warm)));
            }
            out.append(" |\n");
        }
        return out.toString();
    }

    private static double median(double[] sorted) {
        return sorted.length == 0 ? Double.NaN : StudyBench.median(sorted);
    }
}
