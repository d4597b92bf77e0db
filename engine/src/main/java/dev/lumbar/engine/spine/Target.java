package dev.lumbar.engine.spine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One graded target: a condition at a level. There are 25 per study; {@link #index()} numbers
 * them 0…24 condition-major in {@code train.csv}'s column order.
 */
public record Target(Condition condition, Level level) {

    /** The number of targets per study. */
    public static final int COUNT = Condition.ALL.size() * Level.ALL.size();

    /** All 25 targets in {@code train.csv} column order (condition-major, then level). */
    public static final List<Target> ALL = allInColumnOrder();

    private static final List<Target> SUBMISSION_ORDER = ALL.stream()
            .sorted(Comparator.comparing(Target::kaggleName)).toList();

    public Target {
        Objects.requireNonNull(condition, "condition");
        Objects.requireNonNull(level, "level");
    }

    /** Position in {@link #ALL}: condition-major, 0…24. */
    public int index() {
        return condition.ordinal() * Level.ALL.size() + level.ordinal();
    }

    /** The column name in {@code train.csv}, e.g. {@code left_subarticular_stenosis_l4_l5}. */
    public String kaggleName() {
        return condition.kaggleName() + "_" + level.kaggleName();
    }

    /** The submission row id {@code {study}_{condition}_{level}}. */
    public String rowId(String studyId) {
        return studyId + "_" + kaggleName();
    }

    /** The series type this target is graded on. */
    public SeriesType seriesType() {
        return condition.seriesType();
    }

    /** The same level on the other side (the spinal canal is its own mirror). */
    public Target mirrored() {
        return new Target(condition.mirrored(), level);
    }

    /** The target at {@code index} of {@link #ALL}. */
    public static Target ofIndex(int index) {
        return ALL.get(index);
    }

    /**
     * The 25 targets in the order {@code sample_submission.csv} lists one study's rows: sorted
     * by row id as text, so conditions run alphabetically (left foraminal, left subarticular,
     * right foraminal, right subarticular, spinal) and levels top to bottom within each.
     */
    public static List<Target> submissionOrder() {
        return SUBMISSION_ORDER;
    }

    /** The target named by a column name such as {@code spinal_canal_stenosis_l1_l2}. */
    public static Optional<Target> fromKaggleName(String name) {
        for (Target target : ALL) {
            if (target.kaggleName().equals(name)) {
                return Optional.of(target);
            }
        }
        return Optional.empty();
    }

    /**
     * Splits a submission row id into study id and target; the study id is everything before
     * the target's name and its underscore.
     */
    public static Optional<RowId> parseRowId(String rowId) {
        for (Target target : ALL) {
            String suffix = "_" + target.kaggleName();
            if (rowId.endsWith(suffix) && rowId.length() > suffix.length()) {
                return Optional.of(new RowId(
                        rowId.substring(0, rowId.length() - suffix.length()), target));
            }
        }
        return Optional.empty();
    }

    /** A parsed submission row id. */
    public record RowId(String studyId, Target target) {
    }

    @Override
    public String toString() {
        return kaggleName();
    }

    private static List<Target> allInColumnOrder() {
        List<Target> all = new ArrayList<>(Condition.ALL.size() * Level.ALL.size());
        for (Condition condition : Condition.values()) {
            for (Level level : Level.values()) {
                all.add(new Target(condition, level));
            }
        }
        return List.copyOf(all);
    }
}
