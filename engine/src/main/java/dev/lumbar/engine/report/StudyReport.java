package dev.lumbar.engine.report;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Severity;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a run knows about one study, for the JSON report beside the submission: which
 * engine, weights and backend ran, how long each stage took, which series were found and how
 * they were typed, and per target the slice and point stage 1 chose, the probabilities, the
 * attention over the bag's slices and whether a fallback served it.
 *
 * <p>The study and series are named by their folders. A name that looks like a DICOM UID is
 * replaced ({@code study}, {@code series-1}, …) and a warning says so; UIDs inside warnings are
 * masked. Lists are copied; arrays are copied into the JSON map when it is made.
 *
 * @param study         the study's folder name
 * @param engineVersion the engine's version
 * @param backend       what computed the networks
 * @param models        every network that ran, with the hash of its weights
 * @param timingsMillis wall time per stage in milliseconds, in the order stages ran
 * @param series        the series found
 * @param targets       one entry per graded target, normally all 25
 * @param warnings      anything the reader of the result should know
 */
public record StudyReport(String study, String engineVersion, BackendInfo backend,
        List<ModelFingerprint> models, Map<String, Double> timingsMillis,
        List<SeriesEntry> series, List<TargetEntry> targets, List<String> warnings) {

    /** The {@code format} field of every report. */
    public static final String FORMAT = "lumbar-report/1";

    /** The backend: its name as it reports it and the device it used. */
    public record BackendInfo(String name, String device) {
    }

    /** Which rule decided a series' type (DESIGN.md "Input", in order of precedence). */
    public enum TypedBy {
        SERIES_CSV("series_csv"),
        SERIES_DESCRIPTION("series_description"),
        GEOMETRY("geometry"),
        NOT_TYPED("none");

        private final String jsonName;

        TypedBy(String jsonName) {
            this.jsonName = jsonName;
        }

        public String jsonName() {
            return jsonName;
        }
    }

    /**
     * One series of the study.
     *
     * @param name        its folder name
     * @param type        the type it was given, null when none
     * @param typedBy     the rule that gave it
     * @param description its SeriesDescription text, null when absent
     * @param slices      the number of slices read
     */
    public record SeriesEntry(String name, SeriesType type, TypedBy typedBy, String description,
            int slices) {

        public SeriesEntry {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(typedBy, "typedBy");
        }
    }

    /**
     * Where stage 1 put a target.
     *
     * @param series     the series' name as in {@link SeriesEntry#name()}
     * @param slice      0-based index of the slice in the series' spatial order
     * @param x          column, in pixels of that slice
     * @param y          row, in pixels of that slice
     * @param confidence stage 1's probability for that slice, in [0, 1]
     */
    public record Location(String series, int slice, double x, double y, double confidence) {
    }

    /**
     * One graded target.
     *
     * @param target        the condition and level
     * @param probabilities normal/mild, moderate, severe
     * @param location      where stage 1 found it; null when it was not localised
     * @param bagSlices     the series slices the stage-2 bag was cut from; null when none
     * @param attention     attention weight per bag slice (same length); null when the
     *                      classifier has none
     * @param fallback      why a fallback served this target, e.g. the series was missing;
     *                      null when the models served it
     */
    public record TargetEntry(Target target, double[] probabilities, Location location,
            int[] bagSlices, double[] attention, String fallback) {

        public TargetEntry {
            Objects.requireNonNull(target, "target");
            if (probabilities == null || probabilities.length != Severity.ALL.size()) {
                throw new IllegalArgumentException(target + " needs " + Severity.ALL.size()
                        + " probabilities");
            }
            if (attention != null && (bagSlices == null
                    || bagSlices.length != attention.length)) {
                throw new IllegalArgumentException(target + ": attention needs one bag slice"
                        + " per weight");
            }
        }

        /** The most probable severity. */
        public Severity severity() {
            int best = 0;
            for (int s = 1; s < probabilities.length; s++) {
                if (probabilities[s] > probabilities[best]) {
                    best = s;
                }
            }
            return Severity.ALL.get(best);
        }
    }

    public StudyReport {
        Objects.requireNonNull(study, "study");
        Objects.requireNonNull(engineVersion, "engineVersion");
        Objects.requireNonNull(backend, "backend");
        List<String> notes = new ArrayList<>();
        for (String warning : warnings) {
            notes.add(Identifiers.withoutUids(warning));
        }

        // names that look like UIDs are replaced, locations follow the new names
        if (Identifiers.containsUid(study)) {
            study = "study";
            notes.add("the study folder's name looks like a DICOM UID and is withheld");
        }
        Map<String, String> renamed = new HashMap<>();
        List<SeriesEntry> named = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            SeriesEntry entry = series.get(i);
            if (Identifiers.containsUid(entry.name())) {
                String neutral = "series-" + (i + 1);
                renamed.put(entry.name(), neutral);
                notes.add(neutral + ": the folder's name looks like a DICOM UID and is"
                        + " withheld");
                entry = new SeriesEntry(neutral, entry.type(), entry.typedBy(),
                        Identifiers.withoutUids(entry.description()), entry.slices());
            }
            named.add(entry);
        }
        List<TargetEntry> located = new ArrayList<>();
        for (TargetEntry entry : targets) {
            Location at = entry.location();
            if (at != null && at.series() != null && Identifiers.containsUid(at.series())) {
                at = new Location(renamed.getOrDefault(at.series(), Identifiers.WITHHELD),
                        at.slice(), at.x(), at.y(), at.confidence());
            }
            located.add(new TargetEntry(entry.target(), entry.probabilities(), at,
                    entry.bagSlices(), entry.attention(),
                    Identifiers.withoutUids(entry.fallback())));
        }

        models = List.copyOf(models);
        timingsMillis = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(
                timingsMillis));
        series = List.copyOf(named);
        targets = List.copyOf(located);
        warnings = List.copyOf(notes);
    }

    /** The report as ordered maps and lists, ready for {@link Json#write}. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("format", FORMAT);
        map.put("study", study);
        map.put("engine", Map.of("version", engineVersion));
        Map<String, Object> backendMap = new LinkedHashMap<>();
        backendMap.put("name", backend.name());
        backendMap.put("device", backend.device());
        map.put("backend", backendMap);
        map.put("models", models.stream().map(ModelFingerprint::toMap).toList());
        map.put("timings_ms", new LinkedHashMap<>(timingsMillis));
        map.put("series", series.stream().map(StudyReport::seriesMap).toList());
        map.put("targets", targets.stream().map(StudyReport::targetMap).toList());
        map.put("warnings", warnings);
        return map;
    }

    /** The report's file name: the study's name with {@code .json}. */
    public String fileName() {
        return study + ".json";
    }

    /** Writes the report atomically into {@code folder} and returns its path. */
    public Path write(Path folder) throws IOException {
        Path file = folder.resolve(fileName());
        Json.writeAtomically(file, toMap());
        return file;
    }

    private static Map<String, Object> seriesMap(SeriesEntry entry) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", entry.name());
        map.put("type", entry.type() == null ? null : entry.type().name());
        map.put("typed_by", entry.typedBy().jsonName());
        map.put("description", entry.description());
        map.put("slices", entry.slices());
        return map;
    }

    private static Map<String, Object> targetMap(TargetEntry entry) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("condition", entry.target().condition().kaggleName());
        map.put("level", entry.target().level().kaggleName());
        map.put("row_id_suffix", entry.target().kaggleName());
        Map<String, Object> probabilities = new LinkedHashMap<>();
        for (Severity severity : Severity.ALL) {
            probabilities.put(severity.kaggleName(), entry.probabilities()[severity.ordinal()]);
        }
        map.put("probabilities", probabilities);
        map.put("severity", entry.severity().kaggleName());
        Location at = entry.location();
        if (at == null) {
            map.put("location", null);
        } else {
            Map<String, Object> location = new LinkedHashMap<>();
            location.put("series", at.series());
            location.put("slice", at.slice());
            location.put("x", at.x());
            location.put("y", at.y());
            location.put("confidence", at.confidence());
            map.put("location", location);
        }
        if (entry.attention() == null) {
            map.put("attention", null);
        } else {
            Map<String, Object> attention = new LinkedHashMap<>();
            attention.put("slices", java.util.Arrays.stream(entry.bagSlices()).boxed().toList());
            attention.put("weights", java.util.Arrays.stream(entry.attention()).boxed()
                    .toList());
            map.put("attention", attention);
        }
        map.put("fallback", entry.fallback());
        return map;
    }
}
