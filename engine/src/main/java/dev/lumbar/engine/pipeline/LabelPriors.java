package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How often each severity was labelled at each target in the training set, as probabilities:
 * the answer for a target that no network can grade. Read from a {@code train_label_counts.csv}
 * ({@code condition_level,normal_mild,moderate,severe,missing}); studies without a label are
 * left out of the proportions.
 */
public final class LabelPriors {

    /** {@code [target index][severity]}, each row summing to 1. */
    private final double[][] probabilities;

    private LabelPriors(double[][] probabilities) {
        this.probabilities = probabilities;
    }

    /** Every target normal/mild, moderate and severe alike: the prior with no data. */
    public static LabelPriors uniform() {
        double[][] p = new double[Target.COUNT][];
        for (int t = 0; t < Target.COUNT; t++) {
            p[t] = new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0};
        }
        return new LabelPriors(p);
    }

    public static LabelPriors read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read label counts: "
                    + e.getMessage(), e);
        }
        if (lines.isEmpty() || !lines.getFirst().strip()
                .startsWith("condition_level,normal_mild,moderate,severe")) {
            throw new IllegalArgumentException(file + ": expected the header"
                    + " condition_level,normal_mild,moderate,severe[,missing]");
        }
        double[][] p = new double[Target.COUNT][];
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] cells = line.split(",");
            int lineNumber = i + 1;
            Target target = Target.fromKaggleName(cells[0]).orElseThrow(() ->
                    new IllegalArgumentException(file + ": line " + lineNumber
                            + ": unknown target \"" + cells[0] + "\""));
            if (cells.length < 4) {
                throw new IllegalArgumentException(file + ": line " + lineNumber
                        + ": expected three counts");
            }
            double[] counts = new double[3];
            double total = 0;
            for (int s = 0; s < 3; s++) {
                try {
                    counts[s] = Double.parseDouble(cells[s + 1]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(file + ": line " + lineNumber
                            + ": not a count: \"" + cells[s + 1] + "\"");
                }
                if (!(counts[s] >= 0)) {
                    throw new IllegalArgumentException(file + ": line " + lineNumber
                            + ": negative count");
                }
                total += counts[s];
            }
            if (!(total > 0)) {
                throw new IllegalArgumentException(file + ": line " + lineNumber
                        + ": no labelled studies");
            }
            for (int s = 0; s < 3; s++) {
                counts[s] /= total;
            }
            p[target.index()] = counts;
        }
        for (Target target : Target.ALL) {
            if (p[target.index()] == null) {
                throw new IllegalArgumentException(file + ": no counts for " + target.kaggleName());
            }
        }
        return new LabelPriors(p);
    }

    /** Probabilities of normal/mild, moderate, severe at {@code target}. */
    public double[] of(Target target) {
        return probabilities[target.index()].clone();
    }
}
