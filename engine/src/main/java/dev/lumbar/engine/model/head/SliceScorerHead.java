package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Stage 1's slice finder: a linear layer gives every slice a score per target; a softmax over
 * the slices turns each target's scores into a distribution, an optional rolling mean smooths
 * it, and the most probable slice is the target's slice.
 *
 * <p>The rolling mean is centred and averages what exists near the ends (pandas'
 * {@code rolling(window, center=True, min_periods=1)}); an even window leans one slice
 * towards the end, as pandas' does.
 */
public final class SliceScorerHead implements Head {

    public static final String TYPE = "slice_scorer";

    private final int features;
    private final int targets;
    private final int window;
    private final String fc;

    private HeadWeights weights;
    private Backend backend;
    private Tensor fcWeight;  // [T, D]
    private Tensor fcBias;    // [T]

    /**
     * Per target: the chosen slice, its (smoothed) probability, and the whole distribution.
     *
     * @param scores        raw scores {@code [S][T]}
     * @param probabilities softmax over slices, smoothed, {@code [S][T]}
     * @param slice         chosen slice per target {@code [T]}
     * @param confidence    {@code probabilities[slice[t]][t]} per target {@code [T]}
     */
    public record Output(float[][] scores, float[][] probabilities, int[] slice,
            float[] confidence) {
    }

    public SliceScorerHead(int features, int targets, int window, String fc) {
        if (features < 1 || targets < 1 || window < 1) {
            throw new IllegalArgumentException("slice_scorer needs positive sizes, got "
                    + features + " features, " + targets + " targets, window " + window);
        }
        this.features = features;
        this.targets = targets;
        this.window = window;
        this.fc = fc;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Map<String, long[]> expectedTensors() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put(fc + ".weight", new long[] {targets, features});
        shapes.put(fc + ".bias", new long[] {targets});
        return shapes;
    }

    @Override
    public void load(Map<String, Tensor> tensors, Backend target) {
        close();
        HeadWeights taken = new HeadWeights(tensors, expectedTensors());
        try {
            fcWeight = taken.upload(target, fc + ".weight");
            fcBias = taken.upload(target, fc + ".bias");
            taken.finishLoading();
        } catch (RuntimeException e) {
            taken.close();
            throw e;
        }
        weights = taken;
        backend = target;
    }

    /**
     * Picks each target's slice in one series.
     *
     * @param slices {@code [S, D]} pooled encoder features of the series' slices, in order
     */
    public Output forward(Tensor slices) {
        if (weights == null) {
            throw new IllegalStateException("slice_scorer weights are not loaded");
        }
        if (slices.rank() != 2 || slices.dim(1) != features || slices.dim(0) < 1) {
            throw new IllegalArgumentException("slice_scorer expects [S, " + features
                    + "] features, got " + slices);
        }
        int count = slices.size(0);

        // scores per slice and target: [S, T]
        float[][] scores;
        try (Tensor onDevice = backend.linear(slices, fcWeight, fcBias, Activation.IDENTITY);
                Tensor host = backend.download(onDevice)) {
            scores = HostArrays.rows(host.toFloatArray(), count, targets);
        }

        // softmax over the slices, per target
        double[][] probabilities = new double[count][targets];
        for (int t = 0; t < targets; t++) {
            double top = Double.NEGATIVE_INFINITY;
            for (int s = 0; s < count; s++) {
                top = Math.max(top, scores[s][t]);
            }
            double sum = 0;
            for (int s = 0; s < count; s++) {
                probabilities[s][t] = Math.exp(scores[s][t] - top);
                sum += probabilities[s][t];
            }
            for (int s = 0; s < count; s++) {
                probabilities[s][t] /= sum;
            }
        }

        // centred rolling mean, then the most probable slice
        float[][] smoothed = rollingMean(probabilities, count);
        int[] chosen = new int[targets];
        float[] confidence = new float[targets];
        for (int t = 0; t < targets; t++) {
            for (int s = 1; s < count; s++) {
                if (smoothed[s][t] > smoothed[chosen[t]][t]) {
                    chosen[t] = s;
                }
            }
            confidence[t] = smoothed[chosen[t]][t];
        }
        return new Output(scores, smoothed, chosen, confidence);
    }

    private float[][] rollingMean(double[][] probabilities, int count) {
        float[][] smoothed = new float[count][targets];
        int half = window / 2;
        for (int s = 0; s < count; s++) {
            int from = Math.max(0, s - half);
            int to = Math.min(count, s - half + window);
            for (int t = 0; t < targets; t++) {
                double sum = 0;
                for (int k = from; k < to; k++) {
                    sum += probabilities[k][t];
                }
                smoothed[s][t] = (float) (sum / (to - from));
            }
        }
        return smoothed;
    }

    @Override
    public void close() {
        if (weights != null) {
            weights.close();
            weights = null;
        }
        backend = null;
    }
}
