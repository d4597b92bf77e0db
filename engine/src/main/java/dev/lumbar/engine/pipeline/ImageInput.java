package dev.lumbar.engine.pipeline;

/**
 * What a stage-1 network takes: whole slices resized to {@code rows × cols}, C channels (the
 * slice repeated or its neighbours), normalised per image. From the card's {@code input}.
 */
public record ImageInput(int rows, int cols, int channels, BagGeometry.ChannelMode channelMode,
        Normalisation normalisation) {

    public ImageInput {
        if (rows < 1 || cols < 1 || channels < 1) {
            throw new IllegalArgumentException("input size and channels must be positive: "
                    + rows + "x" + cols + "x" + channels);
        }
    }

    /** The same input with its channels taken as {@code mode} says. */
    public ImageInput withChannelMode(BagGeometry.ChannelMode mode) {
        return new ImageInput(rows, cols, channels, mode, normalisation);
    }

    /**
     * The bag geometry that reads a whole {@code imageRows × imageCols} slice resized to this
     * input: a crop box covering the image exactly, centred on the image centre.
     */
    BagGeometry wholeImage(int imageRows, int imageCols) {
        return new BagGeometry(1, 1, channels, channelMode, 0, 0, imageCols / 2.0,
                imageCols / 2.0, imageRows / 2.0, imageRows / 2.0, false, false, rows, cols,
                normalisation);
    }

    /** The target that {@link #wholeImage} cuts around, on slice {@code slice}. */
    static RoiTarget imageCentre(int slice, int imageRows, int imageCols) {
        return new RoiTarget(slice, (imageCols - 1) / 2.0, (imageRows - 1) / 2.0, 0, false);
    }
}
