package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The concat-pool classifier: the encoder feature maps of a bag's S instances are stacked
 * along height ({@code [B·S, D, h, w] → [B, D, S·h, w]}), pooled over all of that space by max
 * and by mean, the two joined ({@code [max, avg]} by default) and fed to {@code fc}.
 *
 * <p>Stacking along height only changes which pixels share a pooling window, and the window is
 * the whole map, so the head pools each instance on the backend and reduces the S per-instance
 * results on the host: the max of maxima is the max, and the mean of equal-sized means is the
 * mean.
 */
public final class ConcatPoolHead implements Head {

    public static final String TYPE = "concat_pool";

    /** Which pooled half comes first in the feature vector {@code fc} sees. */
    public enum PoolOrder {
        MAX_AVG,
        AVG_MAX;

        static PoolOrder fromCard(String value) {
            return switch (value) {
                case "max_avg" -> MAX_AVG;
                case "avg_max" -> AVG_MAX;
                default -> throw new IllegalArgumentException("head option 'pool_order' must be"
                        + " max_avg or avg_max, got '" + value + "'");
            };
        }
    }

    private final int features;
    private final int classes;
    private final PoolOrder order;

    private HeadWeights weights;
    private Backend backend;
    private Tensor fcWeight;  // [K, 2D]
    private Tensor fcBias;    // [K]

    public ConcatPoolHead(int features, int classes, PoolOrder order) {
        if (features < 1 || classes < 1) {
            throw new IllegalArgumentException("concat_pool needs positive sizes, got "
                    + features + " features and " + classes + " classes");
        }
        this.features = features;
        this.classes = classes;
        this.order = order;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Map<String, long[]> expectedTensors() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("fc.weight", new long[] {classes, 2L * features});
        shapes.put("fc.bias", new long[] {classes});
        return shapes;
    }

    @Override
    public void load(Map<String, Tensor> tensors, Backend target) {
        close();
        HeadWeights taken = new HeadWeights(tensors, expectedTensors());
        try {
            fcWeight = taken.upload(target, "fc.weight");
            fcBias = taken.upload(target, "fc.bias");
            taken.finishLoading();
        } catch (RuntimeException e) {
            taken.close();
            throw e;
        }
        weights = taken;
        backend = target;
    }

    /**
     * Classifies a batch of bags.
     *
     * @param featureMaps {@code [B·S, D, h, w]} on the backend, the S instances of each bag
     *                    consecutive
     * @param slices      S, instances per bag
     * @return logits {@code [B][K]}
     */
    public float[][] forward(Tensor featureMaps, int slices) {
        if (weights == null) {
            throw new IllegalStateException("concat_pool weights are not loaded");
        }
        if (featureMaps.rank() != 4 || featureMaps.dim(1) != features || slices < 1
                || featureMaps.dim(0) % slices != 0) {
            throw new IllegalArgumentException("concat_pool expects [B·" + slices + ", "
                    + features + ", h, w] feature maps, got " + featureMaps);
        }
        int batch = featureMaps.size(0) / slices;

        // per-instance max and mean over space: [B·S, D] each
        float[] maxima;
        float[] means;
        try (Tensor max = backend.globalMaxPool(featureMaps);
                Tensor avg = backend.globalAvgPool(featureMaps);
                Tensor hostMax = backend.download(max);
                Tensor hostAvg = backend.download(avg)) {
            maxima = hostMax.toFloatArray();
            means = hostAvg.toFloatArray();
        }

        // over the bag's instances, joined in the card's order: [B, 2D]
        float[] pooled = new float[batch * 2 * features];
        int maxOffset = order == PoolOrder.MAX_AVG ? 0 : features;
        int avgOffset = features - maxOffset;
        for (int b = 0; b < batch; b++) {
            for (int d = 0; d < features; d++) {
                float largest = Float.NEGATIVE_INFINITY;
                double sum = 0;
                for (int s = 0; s < slices; s++) {
                    int at = (b * slices + s) * features + d;
                    largest = Math.max(largest, maxima[at]);
                    sum += means[at];
                }
                pooled[b * 2 * features + maxOffset + d] = largest;
                pooled[b * 2 * features + avgOffset + d] = (float) (sum / slices);
            }
        }

        // logits = fc(pooled): [B, K]
        try (Tensor host = Tensor.of(pooled, batch, 2L * features);
                Tensor onDevice = backend.upload(host);
                Tensor logits = backend.linear(onDevice, fcWeight, fcBias, Activation.IDENTITY);
                Tensor hostLogits = backend.download(logits)) {
            return HostArrays.rows(hostLogits.toFloatArray(), batch, classes);
        }
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
