package dev.lumbar.engine.study;

import dev.lumbar.engine.spine.SeriesType;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One study: named by its folder (never by patient data or UIDs), its series in folder or series
 * number order, and the warnings collected while reading it. A series type that is missing is
 * not among the warnings ({@link #missingTypes}): the pipeline warns about it where it is used.
 */
public record Study(String id, Path directory, List<Series> series, List<String> warnings) {

    public Study {
        series = List.copyOf(series);
        warnings = List.copyOf(warnings);
    }

    /**
     * The name of the study's folder as the input has it, to match the rows of the CSV files
     * given with the input (series descriptions, coordinates), which name studies so; never
     * shown, as it may be a UID or carry the patient's identifiers where {@link #id} does not.
     */
    public String folder() {
        Path name = directory.getFileName();
        return name == null ? "" : name.toString();
    }

    /** The series of {@code type} the pipeline reads: the first one typed so. */
    public Optional<Series> series(SeriesType type) {
        return series.stream().filter(s -> s.type() == type).findFirst();
    }

    /** The series types no series of the study was typed as, in {@link SeriesType} order. */
    public List<SeriesType> missingTypes() {
        return java.util.Arrays.stream(SeriesType.values())
                .filter(t -> series(t).isEmpty()).toList();
    }
}
