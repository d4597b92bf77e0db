package dev.lumbar.engine.metric;

import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Severity;
import dev.lumbar.engine.spine.Target;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Scores a submission against labels as the competition's host did; see package docs. */
public final class CompetitionMetric {

    /** Predictions are clipped to {@code [EPSILON, 1 − EPSILON]} before the logarithm. */
    public static final double EPSILON = 1e-15;

    private CompetitionMetric() {
    }

    /**
     * One group's loss and how much went into it.
     *
     * @param loss        the weighted mean log loss
     * @param rows        labelled rows scored (studies, for {@code any_severe_spinal})
     * @param totalWeight the sum of their weights
     */
    public record Loss(double loss, int rows, double totalWeight) {
    }

    /**
     * The four losses and their mean.
     *
     * @param groups          the log loss of each condition group
     * @param anySevereSpinal the binary loss of "some spinal level is severe"
     * @param score           the mean of the four losses
     * @param ignoredRows     submitted rows no label grades (other studies, unlabelled
     *                        targets)
     * @param targets         the same weighted log loss per target, for finding where a
     *                        submission loses; column order, targets without labels left out
     */
    public record Score(Map<Condition.Group, Loss> groups, Loss anySevereSpinal, double score,
            int ignoredRows, Map<Target, Loss> targets) {
    }

    /**
     * Scores {@code submission} against {@code labels}.
     *
     * @throws IllegalArgumentException naming the first labelled row the submission lacks, or
     *                                  a group without any labelled row
     */
    public static Score score(Labels labels, Submission submission) {
        Map<Condition.Group, double[]> sums = new EnumMap<>(Condition.Group.class);
        Map<Condition.Group, Integer> counts = new EnumMap<>(Condition.Group.class);
        for (Condition.Group group : Condition.Group.values()) {
            sums.put(group, new double[2]);
            counts.put(group, 0);
        }
        double anyWeightedLoss = 0;
        double anyWeight = 0;
        int anyStudies = 0;
        int matchedRows = 0;
        double[] targetLoss = new double[Target.COUNT];
        double[] targetWeight = new double[Target.COUNT];
        int[] targetRows = new int[Target.COUNT];

        // every row the labels grade must be there: all that are not are counted at once
        long missing = 0;
        String firstMissing = null;
        for (String study : labels.studies()) {
            for (Target target : Target.ALL) {
                if (labels.label(study, target).isPresent()
                        && submission.row(target.rowId(study)).isEmpty()) {
                    missing++;
                    firstMissing = firstMissing == null ? target.rowId(study) : firstMissing;
                }
            }
        }
        if (missing > 0) {
            throw new IllegalArgumentException("the submission lacks " + missing + " row"
                    + (missing == 1 ? "" : "s") + " that the labels grade (the first: "
                    + firstMissing + ")");
        }

        for (String study : labels.studies()) {
            boolean spinalLabelled = false;
            boolean anySevere = false;
            double studyWeight = 0;
            double largestSevere = 0;

            for (Target target : Target.ALL) {
                Optional<Severity> label = labels.label(study, target);
                if (label.isEmpty()) {
                    continue;
                }
                String rowId = target.rowId(study);
                double[] submitted = submission.row(rowId).orElseThrow(() ->
                        new IllegalArgumentException("the submission has no row " + rowId
                                + ", which the labels grade"));
                matchedRows++;

                // weighted log loss of the renormalised, clipped row
                Severity truth = label.get();
                double weight = truth.metricWeight();
                double loss = weight * -Math.log(clippedShare(submitted, truth.ordinal()));
                double[] group = sums.get(target.condition().group());
                group[0] += loss;
                group[1] += weight;
                counts.merge(target.condition().group(), 1, Integer::sum);
                targetLoss[target.index()] += loss;
                targetWeight[target.index()] += weight;
                targetRows[target.index()]++;

                // any_severe_spinal uses the raw severe value
                if (target.condition() == Condition.SPINAL_CANAL_STENOSIS) {
                    double severe = submitted[Severity.SEVERE.ordinal()];
                    largestSevere = spinalLabelled ? Math.max(largestSevere, severe) : severe;
                    spinalLabelled = true;
                    anySevere |= truth == Severity.SEVERE;
                    studyWeight = Math.max(studyWeight, weight);
                }
            }

            if (spinalLabelled) {
                double p = clip(largestSevere);
                anyWeightedLoss += studyWeight * -Math.log(anySevere ? p : 1 - p);
                anyWeight += studyWeight;
                anyStudies++;
            }
        }

        Map<Condition.Group, Loss> groups = new EnumMap<>(Condition.Group.class);
        List<Double> losses = new ArrayList<>();
        for (Condition.Group group : Condition.Group.values()) {
            double[] sum = sums.get(group);
            if (counts.get(group) == 0) {
                throw new IllegalArgumentException("no labelled row of " + group.kaggleName()
                        + "; the metric needs at least one per group");
            }
            groups.put(group, new Loss(sum[0] / sum[1], counts.get(group), sum[1]));
            losses.add(sum[0] / sum[1]);
        }
        Loss anySevereSpinal = new Loss(anyWeightedLoss / anyWeight, anyStudies, anyWeight);
        losses.add(anySevereSpinal.loss());
        double score = losses.stream().mapToDouble(Double::doubleValue).sum() / losses.size();

        Map<Target, Loss> perTarget = new LinkedHashMap<>();
        for (Target target : Target.ALL) {
            int t = target.index();
            if (targetRows[t] > 0) {
                perTarget.put(target, new Loss(targetLoss[t] / targetWeight[t], targetRows[t],
                        targetWeight[t]));
            }
        }

        int ignored = submission.rowCount() - matchedRows;
        return new Score(groups, anySevereSpinal, score, ignored,
                Collections.unmodifiableMap(perTarget));
    }

    /** The share of class {@code index} after clipping every value and renormalising the row. */
    static double clippedShare(double[] row, int index) {
        double sum = 0;
        for (double value : row) {
            sum += clip(value);
        }
        return clip(row[index]) / sum;
    }

    static double clip(double p) {
        return Math.min(Math.max(p, EPSILON), 1 - EPSILON);
    }
}
