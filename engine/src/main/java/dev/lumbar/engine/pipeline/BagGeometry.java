package dev.lumbar.engine.pipeline;

/**
 * How one stage-2 member cuts its bag around a target: which slices, how many channels, the
 * resize before cropping, the crop box, levelling, output size and intensity normalisation.
 * All lengths of the crop box are in pixels of the resized image; see {@link RoiSampler} for the
 * exact coordinate convention.
 *
 * @param slices        S, the instances of the bag: slices around the target's slice
 * @param sliceStep     distance in slices between neighbouring instances (1: adjacent slices)
 * @param channels      C, the channels of each instance
 * @param channelMode   whether the C channels repeat the instance's slice or take its neighbours
 * @param resizeRows    rows of the resized image, or 0 to crop the image at its own size
 * @param resizeCols    columns of the resized image, or 0 to crop the image at its own size
 * @param left          crop box extent left of the point (towards column 0)
 * @param right         crop box extent right of the point
 * @param up            crop box extent above the point (towards row 0)
 * @param down          crop box extent below the point
 * @param level         whether to rotate the crop so that the target's disc lies level
 * @param flipOtherSide whether bags of the patient's left side are also flipped left-right, so
 *                      that they look like bags of the right side
 * @param outRows       h, rows of every instance in the bag
 * @param outCols       w, columns of every instance in the bag
 * @param normalisation how intensities are scaled after sampling
 */
public record BagGeometry(int slices, int sliceStep, int channels, ChannelMode channelMode,
        int resizeRows, int resizeCols, double left, double right, double up, double down,
        boolean level, boolean flipOtherSide, int outRows, int outCols,
        Normalisation normalisation) {

    /** What the C channels of one instance hold. */
    public enum ChannelMode {
        /** The instance's slice, C times (an RGB-trained encoder on grey images). */
        REPEAT,
        /** Slices {@code k - (C-1)/2 … k + C/2} around the instance's slice k. */
        ADJACENT
    }

    public BagGeometry {
        if (slices < 1 || sliceStep < 1 || channels < 1 || outRows < 1 || outCols < 1) {
            throw new IllegalArgumentException("bag sizes must be positive: slices=" + slices
                    + " step=" + sliceStep + " channels=" + channels + " out=" + outRows + "x"
                    + outCols);
        }
        if (resizeRows < 0 || resizeCols < 0 || (resizeRows == 0) != (resizeCols == 0)) {
            throw new IllegalArgumentException("resize must be two positive sizes or none, got "
                    + resizeRows + "x" + resizeCols);
        }
        if (!(left + right > 0) || !(up + down > 0)) {
            throw new IllegalArgumentException("crop box must have a positive width and height:"
                    + " left=" + left + " right=" + right + " up=" + up + " down=" + down);
        }
        if (channelMode == null || normalisation == null) {
            throw new IllegalArgumentException("channel mode and normalisation are required");
        }
    }

    /** The slice indices (into the stack) of instance {@code s}'s channels, clamped at the ends. */
    int[] channelSlices(int centreSlice, int s, int stackSlices) {
        // the instance's slice repeats at the ends, so an edge instance is an exact copy
        int instanceSlice = Math.clamp(centreSlice + (s - (slices - 1) / 2) * sliceStep,
                0, stackSlices - 1);
        int[] out = new int[channels];
        for (int c = 0; c < channels; c++) {
            int slice = channelMode == ChannelMode.REPEAT
                    ? instanceSlice : instanceSlice + c - (channels - 1) / 2;
            out[c] = Math.clamp(slice, 0, stackSlices - 1);
        }
        return out;
    }
}
