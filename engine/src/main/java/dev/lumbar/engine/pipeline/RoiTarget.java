package dev.lumbar.engine.pipeline;

/**
 * Where to cut one bag: the stack slice and the point of a target in that slice's pixels.
 *
 * @param slice    index into the stack, slices ordered along the stack normal
 * @param x        column of the point, in pixels of the original image (pixel centres at
 *                 integers, as the Kaggle coordinates are given)
 * @param y        row of the point
 * @param angle    tilt of the target's disc in radians, measured in the resized image from
 *                 the +x axis towards +y (clockwise on screen); 0 when unknown or not levelled
 * @param mirrored true for targets on the patient's left side: the crop box's left and right
 *                 extents swap
 */
public record RoiTarget(int slice, double x, double y, double angle, boolean mirrored) {

    public RoiTarget {
        if (!Double.isFinite(x) || !Double.isFinite(y) || !Double.isFinite(angle)) {
            throw new IllegalArgumentException("target point must be finite: (" + x + ", " + y
                    + ") angle " + angle);
        }
    }
}
