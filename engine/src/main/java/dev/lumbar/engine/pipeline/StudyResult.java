package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import java.util.List;

/**
 * Everything the pipeline learnt about one study: the 25 targets' probabilities, how each was
 * found and graded, the stacks read, warnings and timings.
 *
 * @param studyId the study's folder name
 * @param targets one entry per target, in {@link Target#ALL} order
 * @param stacks  the stacks the study brought, in the order they were read
 * @param stage1Millis   wall time locating the targets
 * @param stage2Millis   wall time grading them, sampling included
 * @param samplingMillis the part of {@code stage2Millis} spent cutting bags (fractional)
 */
public record StudyResult(String studyId, List<TargetResult> targets, List<Stack> stacks,
        List<String> warnings, long stage1Millis, long stage2Millis, double samplingMillis) {

    /**
     * One target's outcome.
     *
     * @param probabilities normal/mild, moderate, severe; sums to 1
     * @param fromPriors    true when no member could grade it and the label priors stand in
     * @param location      where it lies on the view it is graded on, or null if not located
     * @param grades        the members that graded it
     */
    public record TargetResult(Target target, double[] probabilities, boolean fromPriors,
            Location location, List<MemberGrade> grades) {
    }

    /**
     * One member's answer for one target: logits averaged over flips, and attention over the
     * bag's instances (null for heads without attention).
     *
     * @param instanceSlices the stack slice each instance of the bag shows (its middle channel)
     */
    public record MemberGrade(String member, SeriesType view, double weight, Location location,
            int[] instanceSlices, float[] logits, float[] attention) {
    }

    public TargetResult target(Target target) {
        return targets.get(target.index());
    }
}
