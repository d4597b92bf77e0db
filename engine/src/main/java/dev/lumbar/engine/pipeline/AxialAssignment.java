package dev.lumbar.engine.pipeline;

import java.util.List;
import java.util.Optional;

/**
 * Finds the axial slice that cuts through a point located on a sagittal series: within each
 * axial stack the slice whose plane lies nearest the point, and among the stacks the one whose
 * nearest plane is nearest. Distances are perpendicular, in millimetres, so oblique stacks
 * (tilted to follow a disc) are handled by their own normals.
 *
 * <p>A point that is not finite, or farther than {@link #MAX_DISTANCE_MM} from every slice,
 * has no assignment: such a distance comes from a broken point or geometry, not an anatomy.
 */
public final class AxialAssignment {

    /**
     * @param stack       index into the stacks given
     * @param slice       slice within that stack
     * @param distanceMm  perpendicular distance from the point to the slice's plane
     * @param x           column of the point's foot on that slice
     * @param y           row of the point's foot on that slice
     */
    public record Assignment(int stack, int slice, double distanceMm, double x, double y) {
    }

    /** No scanner's field of view spans a metre; a farther slice is not the point's slice. */
    public static final double MAX_DISTANCE_MM = 1000;

    private AxialAssignment() {
    }

    /** The nearest slice over all stacks, or empty when there is none within reach. */
    public static Optional<Assignment> nearest(double[] point, List<StackGeometry> stacks) {
        for (double coordinate : point) {
            if (!Double.isFinite(coordinate)) {
                return Optional.empty();
            }
        }
        Assignment best = null;
        for (int k = 0; k < stacks.size(); k++) {
            StackGeometry stack = stacks.get(k);
            for (int s = 0; s < stack.slices(); s++) {
                double distance = Math.abs(stack.distanceToSlice(s, point));
                if (!(distance <= MAX_DISTANCE_MM)) {
                    continue;
                }
                if (best == null || distance < best.distanceMm()) {
                    double[] foot = stack.worldToPixel(s, point);
                    if (!Double.isFinite(foot[0]) || !Double.isFinite(foot[1])) {
                        continue;
                    }
                    best = new Assignment(k, s, distance, foot[0], foot[1]);
                }
            }
        }
        return Optional.ofNullable(best);
    }
}
