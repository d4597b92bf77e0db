package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The attention-MIL classifier: a bidirectional LSTM across the instances of a bag, a tanh
 * attention score per instance, the attention-weighted sum, a linear layer. PyTorch modules:
 * {@code lstm = nn.LSTM(D, H, L, batch_first=True, bidirectional=True)},
 * {@code attention = nn.Sequential(nn.Tanh(), nn.Linear(2H, 1))}, {@code fc = nn.Linear(2H, K)}.
 */
public final class MilBiLstmHead implements Head {

    public static final String TYPE = "mil_bilstm";

    private final int features;
    private final int classes;
    private final Lstm lstm;

    private HeadWeights weights;
    private Backend backend;
    private Tensor attentionWeight;  // [1, 2H]
    private Tensor attentionBias;    // [1]
    private Tensor fcWeight;         // [K, 2H]
    private Tensor fcBias;           // [K]

    /** Logits {@code [B][K]} and attention over the instances {@code [B][S]} (rows sum to 1). */
    public record Output(float[][] logits, float[][] attention) {
    }

    public MilBiLstmHead(int features, int hidden, int layers, int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException("mil_bilstm needs at least one class");
        }
        this.features = features;
        this.classes = classes;
        this.lstm = new Lstm("lstm.", features, hidden, layers);
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Map<String, long[]> expectedTensors() {
        long width = lstm.outputSize();
        Map<String, long[]> shapes = new LinkedHashMap<>(lstm.expectedTensors());
        shapes.put("attention.1.weight", new long[] {1, width});
        shapes.put("attention.1.bias", new long[] {1});
        shapes.put("fc.weight", new long[] {classes, width});
        shapes.put("fc.bias", new long[] {classes});
        return shapes;
    }

    @Override
    public void load(Map<String, Tensor> tensors, Backend target) {
        close();
        HeadWeights taken = new HeadWeights(tensors, expectedTensors());
        try {
            lstm.load(tensors, target);
            attentionWeight = taken.upload(target, "attention.1.weight");
            attentionBias = taken.upload(target, "attention.1.bias");
            fcWeight = taken.upload(target, "fc.weight");
            fcBias = taken.upload(target, "fc.bias");
            taken.finishLoading();
        } catch (RuntimeException e) {
            taken.close();
            lstm.close();
            throw e;
        }
        weights = taken;
        backend = target;
    }

    /**
     * Classifies a batch of bags.
     *
     * @param instances {@code [B, S, D]} pooled encoder features on the backend
     */
    public Output forward(Tensor instances) {
        if (weights == null) {
            throw new IllegalStateException("mil_bilstm weights are not loaded");
        }
        if (instances.rank() != 3 || instances.dim(2) != features) {
            throw new IllegalArgumentException("mil_bilstm expects [B, S, " + features
                    + "] features, got " + instances);
        }
        int batch = instances.size(0);
        int slices = instances.size(1);
        int width = lstm.outputSize();

        // context across the instances: [B, S, 2H]
        try (Tensor context = lstm.forward(backend, instances);

                // attention logits a_s = w·tanh(h_s) + b: [B, S, 1]
                Tensor squashed = backend.activate(context, Activation.TANH);
                Tensor scores = backend.linear(squashed, attentionWeight, attentionBias,
                        Activation.IDENTITY);

                // α = softmax over the instances: [B, S]
                Tensor alpha = backend.softmax(scores.reshape(batch, slices));

                // z = Σ_s α_s h_s: [B, 1, S] × [B, S, 2H] → [B, 1, 2H]
                Tensor pooled = backend.matmul(alpha.reshape(batch, 1, slices), context);

                // logits = fc(z): [B, K]
                Tensor logits = backend.linear(pooled.reshape(batch, width), fcWeight, fcBias,
                        Activation.IDENTITY);
                Tensor hostLogits = backend.download(logits);
                Tensor hostAlpha = backend.download(alpha)) {
            return new Output(HostArrays.rows(hostLogits.toFloatArray(), batch, classes),
                    HostArrays.rows(hostAlpha.toFloatArray(), batch, slices));
        }
    }

    @Override
    public void close() {
        if (weights != null) {
            weights.close();
            weights = null;
        }
        lstm.close();
        backend = null;
    }
}
