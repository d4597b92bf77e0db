package dev.lumbar.engine.spine;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** The five intervertebral levels graded, from the top of the lumbar spine down. */
public enum Level {
    L1_L2("l1_l2", "L1/L2"),
    L2_L3("l2_l3", "L2/L3"),
    L3_L4("l3_l4", "L3/L4"),
    L4_L5("l4_l5", "L4/L5"),
    L5_S1("l5_s1", "L5/S1");

    /** All levels in anatomical order; {@code ALL.get(i).ordinal() == i}. */
    public static final List<Level> ALL = List.of(values());

    private final String kaggleName;
    private final String label;

    Level(String kaggleName, String label) {
        this.kaggleName = kaggleName;
        this.label = label;
    }

    /** The spelling in row ids and column names, e.g. {@code l4_l5}. */
    public String kaggleName() {
        return kaggleName;
    }

    /** The spelling in label files, e.g. {@code L4/L5}. */
    public String label() {
        return label;
    }

    /** The level whose Kaggle name is {@code name} ({@code l4_l5}). */
    public static Optional<Level> fromKaggleName(String name) {
        return Arrays.stream(values()).filter(l -> l.kaggleName.equals(name)).findFirst();
    }

    /** The level whose label is {@code label} ({@code L4/L5}), ignoring case. */
    public static Optional<Level> fromLabel(String label) {
        return Arrays.stream(values()).filter(l -> l.label.equalsIgnoreCase(label.strip()))
                .findFirst();
    }
}
