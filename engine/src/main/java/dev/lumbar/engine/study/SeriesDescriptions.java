package dev.lumbar.engine.study;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The series CSV Kaggle ships ({@code study_id,series_id,series_description}), looked up by
 * study folder and series folder name. Columns may come in any order; extra columns are ignored.
 * A series listed on several rows with different descriptions is not looked up at all (no row is
 * trusted over another); {@link #conflict} says so for the warning.
 */
public final class SeriesDescriptions {

    private final Map<String, String> byStudyAndSeries;
    private final Map<String, List<Integer>> conflictingLines;

    private SeriesDescriptions(Map<String, String> byStudyAndSeries,
            Map<String, List<Integer>> conflictingLines) {
        this.byStudyAndSeries = byStudyAndSeries;
        this.conflictingLines = conflictingLines;
    }

    public static SeriesDescriptions none() {
        return new SeriesDescriptions(Map.of(), Map.of());
    }

    public static SeriesDescriptions read(Path csv) throws StudyException {
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new StudyException(csv + ": cannot read the series CSV (" + problem(csv, e)
                    + ")", e);
        }
        if (lines.isEmpty()) {
            throw new StudyException(csv + ": the series CSV is empty; expected a header"
                    + " study_id,series_id,series_description");
        }
        List<String> header = fields(stripBom(lines.getFirst()));
        int study = header.indexOf("study_id");
        int series = header.indexOf("series_id");
        int description = header.indexOf("series_description");
        if (study < 0 || series < 0 || description < 0) {
            throw new StudyException(csv + ": the header must name study_id, series_id and"
                    + " series_description, found " + header);
        }
        Map<String, String> map = new HashMap<>();
        Map<String, List<Integer>> linesOf = new HashMap<>();
        Map<String, List<Integer>> conflicts = new LinkedHashMap<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            List<String> row = fields(lines.get(i));
            int needed = Math.max(study, Math.max(series, description));
            if (row.size() <= needed) {
                throw new StudyException(csv + " line " + (i + 1) + ": expected at least "
                        + (needed + 1) + " fields, found " + row.size());
            }
            String key = key(row.get(study), row.get(series));
            List<Integer> seen = linesOf.computeIfAbsent(key, k -> new ArrayList<>());
            seen.add(i + 1);
            String before = map.putIfAbsent(key, row.get(description));
            if (before != null && !before.equals(row.get(description))) {
                conflicts.put(key, seen);
            }
        }
        conflicts.keySet().forEach(map::remove);
        return new SeriesDescriptions(map, conflicts);
    }

    /** Why a series CSV could not be read, in words (the exception's message is often a name). */
    private static String problem(Path csv, IOException e) {
        if (e instanceof CharacterCodingException) {
            return "not UTF-8 text";
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (Files.isDirectory(csv)) {
            return "a folder, not a file";
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * Why the CSV is not used for series folder {@code seriesId} of study folder {@code studyId}:
     * it lists the series on several rows with different descriptions. Empty when it does not.
     */
    public Optional<String> conflict(String studyId, String seriesId) {
        List<Integer> lines = conflictingLines.get(key(studyId, seriesId));
        if (lines == null) {
            return Optional.empty();
        }
        return Optional.of("the series CSV gives it different descriptions on lines "
                + lines.stream().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElse("")
                + "; the CSV is not used for it");
    }

    /** The description given for series folder {@code seriesId} of study folder {@code studyId}. */
    public Optional<String> find(String studyId, String seriesId) {
        return Optional.ofNullable(byStudyAndSeries.get(key(studyId, seriesId)));
    }

    public int size() {
        return byStudyAndSeries.size();
    }

    private static String key(String study, String series) {
        return study.strip() + "/" + series.strip();
    }

    private static String stripBom(String line) {
        return line.startsWith("\uFEFF") ? line.substring(1) : line;
    }

    /** Splits one CSV line; double quotes group a field and {@code ""} is a literal quote. */
    private static List<String> fields(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    field.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(field.toString().strip());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        out.add(field.toString().strip());
        return out;
    }
}
