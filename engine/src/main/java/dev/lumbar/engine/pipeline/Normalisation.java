package dev.lumbar.engine.pipeline;

/**
 * How the sampled intensities of one bag are scaled before the encoder sees them.
 *
 * @param kind whether the bag is scaled by its own range, by its own moments, or by a window
 * @param low  the window's lower bound (stored value after rescale), used by {@link Kind#WINDOW}
 * @param high the window's upper bound, used by {@link Kind#WINDOW}
 */
public record Normalisation(Kind kind, double low, double high) {

    public enum Kind {
        /** {@code (v - min) / (max - min)} over the whole bag: values in [0, 1]. */
        MINMAX,
        /** {@code (v - mean) / std} over the whole bag. */
        ZSCORE,
        /** {@code (v - low) / (high - low)}, clamped to [0, 1]. */
        WINDOW
    }

    public static final Normalisation MINMAX = new Normalisation(Kind.MINMAX, 0, 0);
    public static final Normalisation ZSCORE = new Normalisation(Kind.ZSCORE, 0, 0);

    public Normalisation {
        if (kind == null) {
            throw new IllegalArgumentException("normalisation kind is required");
        }
        if (kind == Kind.WINDOW && !(high > low)) {
            throw new IllegalArgumentException("window needs high > low, got [" + low + ", "
                    + high + "]");
        }
    }

    public static Normalisation window(double low, double high) {
        return new Normalisation(Kind.WINDOW, low, high);
    }

    /** Scales {@code bag[offset, offset + length)} in place. */
    void apply(float[] bag, int offset, int length) {
        switch (kind) {
            case MINMAX -> {
                float min = Float.POSITIVE_INFINITY;
                float max = Float.NEGATIVE_INFINITY;
                for (int i = offset; i < offset + length; i++) {
                    min = Math.min(min, bag[i]);
                    max = Math.max(max, bag[i]);
                }
                // A constant bag (e.g. entirely outside the image) becomes zeros, not NaN.
                float scale = max > min ? 1f / (max - min) : 0f;
                for (int i = offset; i < offset + length; i++) {
                    bag[i] = (bag[i] - min) * scale;
                }
            }
            case ZSCORE -> {
                double sum = 0;
                double sumSquares = 0;
                for (int i = offset; i < offset + length; i++) {
                    sum += bag[i];
                    sumSquares += (double) bag[i] * bag[i];
                }
                double mean = sum / length;
                double variance = Math.max(0, sumSquares / length - mean * mean);
                double std = Math.sqrt(variance);
                float scale = std > 1e-6 ? (float) (1 / std) : 0f;
                for (int i = offset; i < offset + length; i++) {
                    bag[i] = (float) (bag[i] - mean) * scale;
                }
            }
            case WINDOW -> {
                float scale = (float) (1 / (high - low));
                for (int i = offset; i < offset + length; i++) {
                    bag[i] = Math.clamp((float) (bag[i] - low) * scale, 0f, 1f);
                }
            }
        }
    }
}
