package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.report.ModelFingerprint;
import dev.lumbar.engine.report.StudyReport;
import dev.lumbar.engine.study.Series;
import dev.lumbar.engine.study.Slice;
import dev.lumbar.engine.study.Study;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-study JSON report: {@link StudyReport}'s fields (engine, backend, weights, timings,
 * series and their typing, every target's location, probabilities, attention and fallback,
 * warnings with UIDs masked), plus what only the pipeline knows: the ensemble, and per target
 * how its location was found and every member's logits. Slices are numbered within the series
 * (an axial series' stacks one after another). The additions carry no series names,
 * only slice indices, so they cannot leak a UID-like folder name that the report withholds.
 */
public final class PredictionReport {

    private PredictionReport() {
    }

    /** The study's series for the report, typed or not, named by their folders. */
    public static List<StudyReport.SeriesEntry> series(Study study) {
        List<StudyReport.SeriesEntry> entries = new ArrayList<>();
        for (Series series : study.series()) {
            StudyReport.TypedBy typedBy = switch (series.typing().rule()) {
                case SERIES_CSV -> StudyReport.TypedBy.SERIES_CSV;
                case SERIES_DESCRIPTION -> StudyReport.TypedBy.SERIES_DESCRIPTION;
                case GEOMETRY -> StudyReport.TypedBy.GEOMETRY;
                case UNDECIDED -> StudyReport.TypedBy.NOT_TYPED;
            };
            entries.add(new StudyReport.SeriesEntry(series.id(), series.typing().type(), typedBy,
                    series.description(), series.sliceCount()));
        }
        return entries;
    }

    /**
     * The files given beside the studies that change what is graded, by the SHA-256 of their
     * bytes, null where none was given: the coordinates file (its points replace stage 1's)
     * and the series CSV (its types replace the series' own descriptions). The report's
     * {@code input_files}; a report without it comes from a version that did not record them.
     */
    public record InputFiles(String coordinatesSha256, String seriesCsvSha256,
            String studyFilesSha256) {

        /** Neither file given, no study named. */
        public static final InputFiles NONE = new InputFiles(null, null, null);

        /** These files, for one study whose own files give {@code sha256}. */
        public InputFiles forStudy(String sha256) {
            return new InputFiles(coordinatesSha256, seriesCsvSha256, sha256);
        }

        /**
         * The report's {@code input_files}: the two files' keys always, null for a file not
         * given, and the study's own files where known.
         */
        public Map<String, Object> toMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put(COORDINATES_KEY, coordinatesSha256);
            map.put(SERIES_CSV_KEY, seriesCsvSha256);
            if (studyFilesSha256 != null) {
                map.put(STUDY_FILES_KEY, studyFilesSha256);
            }
            return map;
        }
    }

    /** The keys of {@code input_files}. */
    public static final String INPUT_FILES_KEY = "input_files";
    public static final String COORDINATES_KEY = "coordinates_sha256";
    public static final String SERIES_CSV_KEY = "series_csv_sha256";
    /**
     * The study's own files: the SHA-256 of the sorted list of every image file read, by its
     * path within the study folder and its size. A series added, removed or replaced changes
     * it; reading every byte again on each resume would cost as much as decoding the study.
     */
    public static final String STUDY_FILES_KEY = "study_files_sha256";

    /**
     * A file's size, or -1 where it cannot be told (gone since the scan): reading the study
     * then meets the file and says what is wrong with it, as it would without this list.
     */
    private static long sizeOrNone(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    /** {@link #STUDY_FILES_KEY} of {@code study} as it is on disk now. */
    // LIMITATION: by path and size, not content: a file replaced under its name by another
    // of the same size is not noticed.
    public static String studyFilesSha256(Study study) {
        // both absolute: a study's folder is found absolute where its files may be given
        // relative (a folder of loose files), and --input may be spelt either way each run
        Path folder = study.directory().toAbsolutePath().normalize();
        List<String> lines = new ArrayList<>();
        for (Series series : study.series()) {
            for (dev.lumbar.engine.study.Stack stack : series.stacks()) {
                for (Slice slice : stack.slices()) {
                    Path file = slice.file().toAbsolutePath().normalize();
                    Path shown = file.startsWith(folder) ? folder.relativize(file) : file;
                    lines.add(shown + "\t" + sizeOrNone(file));
                }
            }
        }
        Collections.sort(lines);
        return ModelFingerprint.sha256((String.join("\n", lines) + "\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The report as JSON values, ready for {@link dev.lumbar.engine.io.Json#writeAtomically}.
     *
     * @param series     the study's series as read, typed or not
     * @param readMillis time spent decoding the study's pixels
     * @param settingsSha256 the SHA-256 of the ensemble's settings files
     *                   ({@link EnsembleManifest#settingsFiles}), or null
     * @param inputFiles the coordinates file and series CSV the study was graded with
     */
    public static Map<String, Object> of(StudyResult result, EnsembleManifest manifest,
            String engineVersion, StudyReport.BackendInfo backend,
            List<ModelFingerprint> models, List<StudyReport.SeriesEntry> series,
            long readMillis, String settingsSha256, InputFiles inputFiles) {
        Map<String, Double> timings = new LinkedHashMap<>();
        timings.put("read", (double) readMillis);
        timings.put("stage1", (double) result.stage1Millis());
        timings.put("stage2", (double) result.stage2Millis());
        // a part of stage2, not a stage of its own: what cutting the bags cost
        timings.put("stage2_sampling", result.samplingMillis());

        List<StudyReport.TargetEntry> targets = new ArrayList<>();
        for (StudyResult.TargetResult t : result.targets()) {
            targets.add(entry(t));
        }
        StudyReport report = new StudyReport(result.studyId(), engineVersion, backend, models,
                timings, series, targets, result.warnings());
        Map<String, Object> map = report.toMap();

        Map<String, Object> ensemble = new LinkedHashMap<>();
        ensemble.put("name", manifest.name());
        ensemble.put("manifest", manifest.file().getFileName().toString());
        ensemble.put("trained", manifest.trained());
        if (settingsSha256 != null) {
            ensemble.put("settings_sha256", settingsSha256);
        }
        map.put("ensemble", ensemble);
        map.put(INPUT_FILES_KEY, inputFiles.toMap());
        List<?> targetMaps = (List<?>) map.get("targets");
        for (int i = 0; i < targetMaps.size(); i++) {
            @SuppressWarnings("unchecked")
            Map<String, Object> target = (Map<String, Object>) targetMaps.get(i);
            StudyResult.TargetResult t = result.targets().get(i);
            if (t.location() != null) {
                target.put("located_by", locatedBy(t.location()));
            }
            target.put("members", members(t));
        }
        return map;
    }

    private static StudyReport.TargetEntry entry(StudyResult.TargetResult t) {
        StudyReport.Location location = null;
        if (t.location() != null) {
            Location at = t.location();
            // a given point is taken as certain; a projected axial slice has no score of its own
            double confidence = Double.isNaN(at.confidence()) ? 1.0 : at.confidence();
            location = new StudyReport.Location(at.stack().seriesId(),
                    at.stack().seriesSlice(at.slice()), at.x(), at.y(), confidence);
        }

        // attention of the first member that has one, with the slices its instances show
        int[] bagSlices = null;
        double[] attention = null;
        for (StudyResult.MemberGrade g : t.grades()) {
            if (g.attention() != null && g.location() != null) {
                attention = new double[g.attention().length];
                bagSlices = new int[g.attention().length];
                for (int s = 0; s < attention.length; s++) {
                    attention[s] = g.attention()[s];
                    bagSlices[s] = g.location().stack().seriesSlice(g.instanceSlices()[s]);
                }
                break;
            }
        }
        String fallback = t.fromPriors()
                ? "label priors: no ensemble member could grade this target" : null;
        return new StudyReport.TargetEntry(t.target(), t.probabilities(), location, bagSlices,
                attention, fallback);
    }

    private static Map<String, Object> locatedBy(Location at) {
        Map<String, Object> how = new LinkedHashMap<>();
        how.put("source", at.source());
        how.put("instance_number", (long) at.stack().instanceNumbers()[at.slice()]);
        if (!Double.isNaN(at.distanceMm())) {
            how.put("distance_mm", round(at.distanceMm()));
        }
        if (at.spineX() != 0 || at.spineY() != 0) {
            how.put("disc_tilt_degrees", round(tiltDegrees(at.spineX(), at.spineY())));
        }
        return how;
    }

    /**
     * The disc's tilt for a spine running along (spineX, spineY) in the image, in degrees in
     * (-180, 180]: 0 for a spine straight down the image, the rotation the sampler applies.
     */
    static double tiltDegrees(double spineX, double spineY) {
        double degrees = Math.toDegrees(Math.atan2(spineY, spineX) - Math.PI / 2);
        return degrees <= -180 ? degrees + 360 : degrees;
    }

    private static List<Object> members(StudyResult.TargetResult t) {
        List<Object> members = new ArrayList<>();
        for (StudyResult.MemberGrade g : t.grades()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("member", g.member());
            m.put("view", g.view().name());
            m.put("weight", g.weight());
            m.put("slice", (long) g.location().stack().seriesSlice(
                    g.location().slice()));
            m.put("x", round(g.location().x()));
            m.put("y", round(g.location().y()));
            m.put("logits", floats(g.logits()));
            m.put("attention", g.attention() == null ? null : floats(g.attention()));
            members.add(m);
        }
        return members;
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
