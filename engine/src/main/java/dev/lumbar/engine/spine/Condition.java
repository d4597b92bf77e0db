package dev.lumbar.engine.spine;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The five degenerative conditions graded at every level, in {@code train.csv}'s column order.
 * Each is graded on one series type: the spinal canal on the sagittal T2/STIR, the neural
 * foramina on the sagittal T1, the subarticular zones on the axial T2.
 */
public enum Condition {
    SPINAL_CANAL_STENOSIS("spinal_canal_stenosis", "Spinal Canal Stenosis",
            Side.CENTRAL, SeriesType.SAG_T2),
    LEFT_NEURAL_FORAMINAL_NARROWING("left_neural_foraminal_narrowing",
            "Left Neural Foraminal Narrowing", Side.LEFT, SeriesType.SAG_T1),
    RIGHT_NEURAL_FORAMINAL_NARROWING("right_neural_foraminal_narrowing",
            "Right Neural Foraminal Narrowing", Side.RIGHT, SeriesType.SAG_T1),
    LEFT_SUBARTICULAR_STENOSIS("left_subarticular_stenosis", "Left Subarticular Stenosis",
            Side.LEFT, SeriesType.AX_T2),
    RIGHT_SUBARTICULAR_STENOSIS("right_subarticular_stenosis", "Right Subarticular Stenosis",
            Side.RIGHT, SeriesType.AX_T2);

    /** All conditions in {@code train.csv} column order. */
    public static final List<Condition> ALL = List.of(values());

    /** The three groups the metric scores separately. */
    public enum Group {
        SPINAL("spinal_canal_stenosis"),
        FORAMINAL("neural_foraminal_narrowing"),
        SUBARTICULAR("subarticular_stenosis");

        private final String kaggleName;

        Group(String kaggleName) {
            this.kaggleName = kaggleName;
        }

        /** The condition name without its side, e.g. {@code neural_foraminal_narrowing}. */
        public String kaggleName() {
            return kaggleName;
        }

        /** The conditions of this group, left before right. */
        public List<Condition> conditions() {
            return ALL.stream().filter(c -> c.group() == this).toList();
        }
    }

    private final String kaggleName;
    private final String label;
    private final Side side;
    private final SeriesType gradedOn;

    Condition(String kaggleName, String label, Side side, SeriesType gradedOn) {
        this.kaggleName = kaggleName;
        this.label = label;
        this.side = side;
        this.gradedOn = gradedOn;
    }

    /** The spelling in row ids and column names, e.g. {@code left_subarticular_stenosis}. */
    public String kaggleName() {
        return kaggleName;
    }

    /**
     * The spelling in {@code train_label_coordinates.csv}, e.g.
     * {@code Left Subarticular Stenosis}.
     */
    public String label() {
        return label;
    }

    public Side side() {
        return side;
    }

    /** The series type the condition is graded on. */
    public SeriesType seriesType() {
        return gradedOn;
    }

    public Group group() {
        return switch (this) {
            case SPINAL_CANAL_STENOSIS -> Group.SPINAL;
            case LEFT_NEURAL_FORAMINAL_NARROWING, RIGHT_NEURAL_FORAMINAL_NARROWING ->
                    Group.FORAMINAL;
            case LEFT_SUBARTICULAR_STENOSIS, RIGHT_SUBARTICULAR_STENOSIS -> Group.SUBARTICULAR;
        };
    }

    /** The same condition on the other side; the spinal canal is its own mirror. */
    public Condition mirrored() {
        return switch (this) {
            case SPINAL_CANAL_STENOSIS -> SPINAL_CANAL_STENOSIS;
            case LEFT_NEURAL_FORAMINAL_NARROWING -> RIGHT_NEURAL_FORAMINAL_NARROWING;
            case RIGHT_NEURAL_FORAMINAL_NARROWING -> LEFT_NEURAL_FORAMINAL_NARROWING;
            case LEFT_SUBARTICULAR_STENOSIS -> RIGHT_SUBARTICULAR_STENOSIS;
            case RIGHT_SUBARTICULAR_STENOSIS -> LEFT_SUBARTICULAR_STENOSIS;
        };
    }

    /** The condition whose Kaggle name is {@code name}. */
    public static Optional<Condition> fromKaggleName(String name) {
        return Arrays.stream(values()).filter(c -> c.kaggleName.equals(name)).findFirst();
    }

    /** The condition whose label is {@code label}, ignoring case. */
    public static Optional<Condition> fromLabel(String label) {
        return Arrays.stream(values()).filter(c -> c.label.equalsIgnoreCase(label.strip()))
                .findFirst();
    }
}
