package dev.lumbar.engine.study;

import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.io.Csv;
import dev.lumbar.engine.io.TextFiles;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The series CSV Kaggle ships ({@code study_id,series_id,series_description}), looked up by
 * study folder and series folder name. Columns may come in any order; extra columns are ignored.
 * A series listed on several rows with different descriptions is not looked up at all (no row is
 * trusted over another); {@link #conflict} says so for the warning. A row whose number of fields
 * differs from the header's is ignored, and {@link #unmatched} warns about it with the file and
 * line, as about rows naming series that are not in the input.
 */
public final class SeriesDescriptions {

    /** How many line numbers a warning about rows lists before it says "…". */
    private static final int LINES_SHOWN = 5;

    private final String shownFile;
    private final Map<String, String> byStudyAndSeries;
    private final Map<String, List<Integer>> conflictingLines;
    private final Map<String, Integer> firstLine;
    private final List<String> rowProblems;

    private SeriesDescriptions(String shownFile, Map<String, String> byStudyAndSeries,
            Map<String, List<Integer>> conflictingLines, Map<String, Integer> firstLine,
            List<String> rowProblems) {
        this.shownFile = shownFile;
        this.byStudyAndSeries = byStudyAndSeries;
        this.conflictingLines = conflictingLines;
        this.firstLine = firstLine;
        this.rowProblems = List.copyOf(rowProblems);
    }

    public static SeriesDescriptions none() {
        return new SeriesDescriptions("", Map.of(), Map.of(), Map.of(), List.of());
    }

    public static SeriesDescriptions read(Path csv) throws StudyException {
        byte[] content;
        try {
            content = TextFiles.read(csv, "the series CSV");
        } catch (IOException e) {
            throw new StudyException(e.getMessage(), e);
        }
        return parse(csv, content);
    }

    /**
     * The descriptions of {@code content}, the bytes of {@code csv} as read once (and hashed)
     * by the caller; {@code csv} names it in errors and warnings.
     */
    public static SeriesDescriptions parse(Path csv, byte[] content) throws StudyException {
        List<String> lines;
        try {
            lines = TextFiles.lines(content);
        } catch (CharacterCodingException e) {
            throw new StudyException(csv + ": cannot read the series CSV (not UTF-8 text)", e);
        }
        if (lines.isEmpty()) {
            throw new StudyException(csv + ": the series CSV is empty; expected a header"
                    + " study_id,series_id,series_description");
        }
        List<String> header = Csv.fields(Csv.withoutBom(lines.getFirst()));
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
        Map<String, Integer> firstLine = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        String shown = Redaction.path(csv);
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            List<String> row = Csv.fields(lines.get(i));
            if (row.size() != header.size()) {
                // a stray or missing comma shifts the cells; no cell of the row can be trusted
                problems.add(shown + " line " + (i + 1) + ": " + row.size() + " fields where the"
                        + " header has " + header.size() + "; row ignored");
                continue;
            }
            if (row.get(study).isBlank() || row.get(series).isBlank()) {
                problems.add(shown + " line " + (i + 1) + ": no study_id or series_id; row"
                        + " ignored");
                continue;
            }
            String key = key(row.get(study), row.get(series));
            firstLine.putIfAbsent(key, i + 1);
            List<Integer> seen = linesOf.computeIfAbsent(key, k -> new ArrayList<>());
            seen.add(i + 1);
            String before = map.putIfAbsent(key, row.get(description));
            if (before != null && !before.equals(row.get(description))) {
                conflicts.put(key, seen);
            }
        }
        conflicts.keySet().forEach(map::remove);
        return new SeriesDescriptions(shown, map, conflicts, firstLine, problems);
    }

    /**
     * Warnings about rows that were ignored (malformed), and about rows naming a series that is
     * not among {@code found} ({@code study/series} names): one per missing series of a study
     * that is there, one in all for the rows of studies that are not (a CSV of a whole data set
     * often covers more studies than the input holds). {@code shownStudies} gives the name
     * each study folder is shown by.
     */
    public List<String> unmatched(Set<String> found, Map<String, String> shownStudies) {
        List<String> warnings = new ArrayList<>(rowProblems);
        Set<String> studies = new HashSet<>();
        found.forEach(k -> studies.add(k.substring(0, k.lastIndexOf('/'))));
        List<Integer> otherStudies = new ArrayList<>();
        Set<String> otherStudyIds = new HashSet<>();
        for (var row : firstLine.entrySet()) {
            if (found.contains(row.getKey())) {
                continue;
            }
            int slash = row.getKey().lastIndexOf('/');
            String study = row.getKey().substring(0, slash);
            if (studies.contains(study)) {
                warnings.add(shownFile + " line " + row.getValue() + ": study "
                        + shownStudies.getOrDefault(study, "?") + " has no series "
                        + Redaction.name(row.getKey().substring(slash + 1))
                        + " in the input; row ignored");
            } else {
                otherStudies.add(row.getValue());
                otherStudyIds.add(study);
            }
        }
        if (!otherStudies.isEmpty()) {
            warnings.add(shownFile + ": " + otherStudies.size() + " row(s) name "
                    + otherStudyIds.size() + " stud" + (otherStudyIds.size() == 1 ? "y" : "ies")
                    + " not in the input (line" + (otherStudies.size() == 1 ? " " : "s ")
                    + otherStudies.stream().limit(LINES_SHOWN).map(String::valueOf)
                            .reduce((a, b) -> a + ", " + b).orElse("")
                    + (otherStudies.size() > LINES_SHOWN ? ", …" : "") + "); rows ignored");
        }
        return warnings;
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

    /**
     * A row's key: the study's folder name as given, and the series' as the scanner shows it
     * ({@link StudyScanner#seriesName}), so that a series folder named by UID, shown masked,
     * is still found by the UID a row gives.
     */
    private static String key(String study, String series) {
        return study.strip() + "/" + StudyScanner.seriesName(series.strip());
    }
}
