package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Stage 1's point finder: a linear layer maps the pooled features of an image to
 * {@code (x/W, y/H)} for every target. The layer's outputs are read pairwise, target after
 * target: {@code x0, y0, x1, y1, …}, as a {@code view(N, T, 2)} of them in PyTorch would.
 */
public final class KeypointHead implements Head {

    public static final String TYPE = "keypoint";

    /** What turns the linear layer's outputs into normalised coordinates. */
    public enum Output {
        /** Trained against coordinates in [0, 1] through a sigmoid. */
        SIGMOID,
        /** Trained by direct regression; values may fall slightly outside [0, 1]. */
        NONE;

        static Output fromCard(String value) {
            return switch (value) {
                case "sigmoid" -> SIGMOID;
                case "none" -> NONE;
                default -> throw new IllegalArgumentException("head option 'activation' must be"
                        + " sigmoid or none, got '" + value + "'");
            };
        }
    }

    private final int features;
    private final int targets;
    private final Output output;
    private final String fc;

    private HeadWeights weights;
    private Backend backend;
    private Tensor fcWeight;  // [2T, D]
    private Tensor fcBias;    // [2T]

    public KeypointHead(int features, int targets, Output output, String fc) {
        if (features < 1 || targets < 1) {
            throw new IllegalArgumentException("keypoint needs positive sizes, got "
                    + features + " features and " + targets + " targets");
        }
        this.features = features;
        this.targets = targets;
        this.output = output;
        this.fc = fc;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Map<String, long[]> expectedTensors() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put(fc + ".weight", new long[] {2L * targets, features});
        shapes.put(fc + ".bias", new long[] {2L * targets});
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
     * Locates the targets in a batch of images.
     *
     * @param pooled {@code [N, D]} pooled encoder features on the backend
     * @return {@code [N][T][2]}: {@code (x/W, y/H)} per target
     */
    public float[][][] forward(Tensor pooled) {
        if (weights == null) {
            throw new IllegalStateException("keypoint weights are not loaded");
        }
        if (pooled.rank() != 2 || pooled.dim(1) != features) {
            throw new IllegalArgumentException("keypoint expects [N, " + features
                    + "] features, got " + pooled);
        }
        int images = pooled.size(0);

        // (x/W, y/H) pairs: [N, 2T]
        Activation activation = output == Output.SIGMOID ? Activation.SIGMOID
                : Activation.IDENTITY;
        float[] flat;
        try (Tensor onDevice = backend.linear(pooled, fcWeight, fcBias, activation);
                Tensor host = backend.download(onDevice)) {
            flat = host.toFloatArray();
        }

        float[][][] points = new float[images][targets][2];
        for (int n = 0; n < images; n++) {
            for (int t = 0; t < targets; t++) {
                points[n][t][0] = flat[(n * targets + t) * 2];
                points[n][t][1] = flat[(n * targets + t) * 2 + 1];
            }
        }
        return points;
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
