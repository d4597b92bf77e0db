package dev.lumbar.engine.metric;

import dev.lumbar.engine.spine.Severity;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * True severities per study, read from Kaggle's wide {@code train.csv}: a {@code study_id}
 * column and one column per target named like {@code spinal_canal_stenosis_l1_l2}, cells
 * {@code Normal/Mild}, {@code Moderate}, {@code Severe} or empty (not labelled).
 */
public final class Labels {

    private final Map<String, Severity[]> studies;

    private Labels(Map<String, Severity[]> studies) {
        this.studies = studies;
    }

    /** Labels from per-study arrays indexed by {@link Target#index()} (null: no label). */
    public static Labels of(Map<String, Severity[]> studies) {
        Map<String, Severity[]> copy = new LinkedHashMap<>();
        studies.forEach((study, severities) -> {
            if (severities.length != Target.COUNT) {
                throw new IllegalArgumentException("a study needs " + Target.COUNT
                        + " label slots, got " + severities.length);
            }
            copy.put(study, severities.clone());
        });
        return new Labels(copy);
    }

    /**
     * Reads a {@code train.csv}-style file.
     *
     * @throws CsvFormatException naming the file and line of the first problem
     */
    public static Labels read(Path file) throws IOException {
        Map<String, Severity[]> studies = new LinkedHashMap<>();
        List<Integer> columnTarget = new ArrayList<>();
        CsvLines.read(file, header -> checkHeader(file, header, columnTarget),
                (fields, line) -> {
            String study = fields.get(0);
            if (study.isEmpty()) {
                throw new CsvFormatException(file, line, "empty study_id");
            }
            Severity[] severities = new Severity[Target.COUNT];
            for (int column = 1; column < fields.size(); column++) {
                String cell = fields.get(column);
                if (cell.isEmpty()) {
                    continue;
                }
                int target = columnTarget.get(column);
                severities[target] = Severity.fromLabel(cell).orElseThrow(() ->
                        new CsvFormatException(file, line, Target.ofIndex(target).kaggleName()
                                + " holds '" + cell + "'; expected Normal/Mild, Moderate, Severe"
                                + " or nothing"));
            }
            if (studies.putIfAbsent(study, severities) != null) {
                throw new CsvFormatException(file, line, "study_id appears a second time");
            }
        });
        return new Labels(studies);
    }

    private static void checkHeader(Path file, List<String> header, List<Integer> columnTarget) {
        if (!header.getFirst().equals("study_id")) {
            throw new CsvFormatException(file, 1, "first column must be study_id, found '"
                    + header.getFirst() + "'");
        }
        columnTarget.add(-1);
        boolean[] seen = new boolean[Target.COUNT];
        for (String name : header.subList(1, header.size())) {
            Target target = Target.fromKaggleName(name).orElseThrow(() ->
                    new CsvFormatException(file, 1, "column '" + name + "' is not a target such"
                            + " as spinal_canal_stenosis_l1_l2"));
            if (seen[target.index()]) {
                throw new CsvFormatException(file, 1, "column '" + name + "' appears twice");
            }
            seen[target.index()] = true;
            columnTarget.add(target.index());
        }
        for (Target target : Target.ALL) {
            if (!seen[target.index()]) {
                throw new CsvFormatException(file, 1, "no column for " + target.kaggleName());
            }
        }
    }

    /** Study ids in file order. */
    public List<String> studies() {
        return Collections.unmodifiableList(new ArrayList<>(studies.keySet()));
    }

    /** The label of {@code target} in {@code study}, empty when not labelled. */
    public Optional<Severity> label(String study, Target target) {
        Severity[] severities = studies.get(study);
        return severities == null ? Optional.empty()
                : Optional.ofNullable(severities[target.index()]);
    }

    /** Every study row, labelled or not. */
    public int studyCount() {
        return studies.size();
    }

    /** The studies with at least one label: those the metric scores. */
    public int labelledStudyCount() {
        int labelled = 0;
        for (Severity[] severities : studies.values()) {
            for (Severity severity : severities) {
                if (severity != null) {
                    labelled++;
                    break;
                }
            }
        }
        return labelled;
    }
}
