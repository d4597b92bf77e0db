package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.Severity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-study JSON report: engine and ensemble, backend, timings, the stacks and how they
 * were typed, every target's location, probabilities and member grades (with attention), and
 * the warnings. It names the study by its folder and series by their folder or number: no
 * patient name, ID, date or UID appears.
 */
public final class PredictionReport {

    public static final String FORMAT = "lumbar-report/1";

    private PredictionReport() {
    }

    /**
     * The report as JSON values ({@link dev.lumbar.engine.io.Json#write} writes it).
     *
     * @param modelHashes the SHA-256 of each weight file the ensemble used, by file name
     * @param readMillis  time spent reading the study's DICOM files
     */
    public static Map<String, Object> of(StudyResult result, EnsembleManifest manifest,
            String engineVersion, String backend, Map<String, String> modelHashes,
            long readMillis) {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("format", FORMAT);
        report.put("study", result.studyId());
        report.put("engine", engineVersion);
        Map<String, Object> ensemble = new LinkedHashMap<>();
        ensemble.put("name", manifest.name());
        ensemble.put("manifest", manifest.file().getFileName().toString());
        ensemble.put("trained", manifest.trained());
        ensemble.put("weights_sha256", new LinkedHashMap<>(modelHashes));
        report.put("ensemble", ensemble);
        report.put("backend", backend);
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("read_ms", readMillis);
        timings.put("stage1_ms", result.stage1Millis());
        timings.put("stage2_ms", result.stage2Millis());
        report.put("timings", timings);

        // one entry per stack: an axial series often holds one stack per disc
        List<Object> series = new ArrayList<>();
        Map<String, Long> stacksSeen = new LinkedHashMap<>();
        for (Stack stack : result.stacks()) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("series", stack.seriesId());
            s.put("stack", stacksSeen.merge(stack.seriesId(), 1L, Long::sum));
            s.put("type", stack.type().name());
            s.put("typed_by", stack.typedBy());
            s.put("slices", (long) stack.slices());
            s.put("rows", (long) stack.rows());
            s.put("cols", (long) stack.cols());
            series.add(s);
        }
        report.put("series", series);

        List<Object> targets = new ArrayList<>();
        for (StudyResult.TargetResult t : result.targets()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("target", t.target().kaggleName());
            Map<String, Object> probabilities = new LinkedHashMap<>();
            for (Severity severity : Severity.ALL) {
                probabilities.put(severity.kaggleName(), t.probabilities()[severity.ordinal()]);
            }
            entry.put("probabilities", probabilities);
            entry.put("source", t.fromPriors() ? "label priors" : "ensemble");
            entry.put("location", t.location() == null ? null : location(t.location()));
            List<Object> members = new ArrayList<>();
            for (StudyResult.MemberGrade g : t.grades()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("member", g.member());
                m.put("view", g.view().name());
                m.put("weight", g.weight());
                m.put("location", location(g.location()));
                m.put("logits", floats(g.logits()));
                m.put("attention", g.attention() == null ? null : floats(g.attention()));
                members.add(m);
            }
            entry.put("members", members);
            targets.add(entry);
        }
        report.put("targets", targets);
        report.put("warnings", new ArrayList<Object>(result.warnings()));
        return report;
    }

    private static Map<String, Object> location(Location at) {
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("series", at.stack().seriesId());
        l.put("slice", (long) at.slice());
        l.put("instance_number", (long) at.stack().instanceNumbers()[at.slice()]);
        l.put("x", round(at.x()));
        l.put("y", round(at.y()));
        l.put("confidence", Double.isNaN(at.confidence()) ? null : round(at.confidence()));
        l.put("source", at.source());
        if (!Double.isNaN(at.distanceMm())) {
            l.put("distance_mm", round(at.distanceMm()));
        }
        if (at.spineX() != 0 || at.spineY() != 0) {
            l.put("disc_tilt_degrees", round(Math.toDegrees(
                    Math.atan2(at.spineY(), at.spineX()) - Math.PI / 2)));
        }
        return l;
    }

    private static List<Object> floats(float[] values) {
        List<Object> out = new ArrayList<>();
        for (float v : values) {
            out.add(Float.isFinite(v) ? (double) v : null);
        }
        return out;
    }

    private static Object round(double v) {
        return Double.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null;
    }
}
