package dev.lumbar.engine.spine;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The three grades of a target, in the order of the submission's probability columns and of
 * every classifier's logits.
 */
public enum Severity {
    NORMAL_MILD("normal_mild", "Normal/Mild", 1.0),
    MODERATE("moderate", "Moderate", 2.0),
    SEVERE("severe", "Severe", 4.0);

    /** All severities in column order. */
    public static final List<Severity> ALL = List.of(values());

    private final String kaggleName;
    private final String label;
    private final double metricWeight;

    Severity(String kaggleName, String label, double metricWeight) {
        this.kaggleName = kaggleName;
        this.label = label;
        this.metricWeight = metricWeight;
    }

    /** The submission column name, e.g. {@code normal_mild}. */
    public String kaggleName() {
        return kaggleName;
    }

    /** The spelling in {@code train.csv} cells, e.g. {@code Normal/Mild}. */
    public String label() {
        return label;
    }

    /** The sample weight the competition metric gives a row with this label: 1, 2 or 4. */
    public double metricWeight() {
        return metricWeight;
    }

    /** The severity whose Kaggle name is {@code name}. */
    public static Optional<Severity> fromKaggleName(String name) {
        return Arrays.stream(values()).filter(s -> s.kaggleName.equals(name)).findFirst();
    }

    /** The severity whose label is {@code label} ({@code Normal/Mild}), ignoring case. */
    public static Optional<Severity> fromLabel(String label) {
        return Arrays.stream(values()).filter(s -> s.label.equalsIgnoreCase(label.strip()))
                .findFirst();
    }
}
