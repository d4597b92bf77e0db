package dev.lumbar.engine.pipeline;

/**
 * Where one target lies in one stack: the slice, the point, the direction of the spine there
 * (for levelling) and how it was found.
 *
 * @param stack      the stack
 * @param slice      slice index in stack order
 * @param x          column of the point, original pixels, pixel centres at integers
 * @param y          row of the point
 * @param spineX     the spine's direction at the point (towards the sacrum), x component in
 *                   original pixels; 0 with spineY 0 when unknown (no levelling)
 * @param spineY     y component of that direction
 * @param confidence the slice scorer's probability for the chosen slice; NaN when not scored
 * @param source     how the location was found, for the report
 * @param distanceMm for a slice found by projection, the point's distance from its plane; NaN
 *                   otherwise
 */
public record Location(Stack stack, int slice, double x, double y, double spineX,
        double spineY, double confidence, String source, double distanceMm) {

    /**
     * The disc's tilt for the sampler: perpendicular to the spine, in resized pixels. Public so
     * that a benchmark can cut the same bags as stage 2.
     */
    public double discAngle(BagGeometry bag) {
        if (spineX == 0 && spineY == 0) {
            return 0;
        }
        double scaleX = bag.resizeCols() == 0 ? 1 : (double) bag.resizeCols() / stack.cols();
        double scaleY = bag.resizeRows() == 0 ? 1 : (double) bag.resizeRows() / stack.rows();
        // a spine running straight down the image (0, +1) has a level disc: angle 0
        return Math.atan2(spineY * scaleY, spineX * scaleX) - Math.PI / 2;
    }

    Location withSpine(double dx, double dy) {
        return new Location(stack, slice, x, y, dx, dy, confidence, source, distanceMm);
    }
}
