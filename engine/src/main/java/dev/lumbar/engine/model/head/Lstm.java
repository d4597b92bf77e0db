package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A multi-layer bidirectional LSTM with PyTorch's semantics ({@code nn.LSTM(batch_first=True,
 * bidirectional=True)}): zero initial states; gates in the order input, forget, cell, output;
 * {@code c' = f·c + i·g}, {@code h' = o·tanh(c')}; the reverse direction reads the sequence
 * from its end and its output at step t sits beside the forward output at step t; a layer's
 * input is the previous layer's {@code [forward, reverse]} output.
 *
 * <p>The matrix products run on the backend: per layer, the input projections of every step
 * of both directions are one GEMM ({@code [B·S, in] × [in, 8H]}); per step, the recurrent
 * products of both directions are one batched GEMM ({@code [2, B, H] × [2, H, 4H]}). The gate
 * nonlinearities and the cell update, {@code O(B·H)} per step, run on the host between them.
 */
public final class Lstm implements AutoCloseable {

    private static final String[] DIRECTIONS = {"", "_reverse"};

    private final String prefix;
    private final int inputSize;
    private final int hidden;
    private final int layers;

    private HeadWeights weights;
    private Tensor[] inputWeights;      // per layer: [8H, in], forward gates then reverse gates
    private Tensor[] inputBiases;       // per layer: [8H], bias_ih + bias_hh of both directions
    private Tensor[] recurrentWeights;  // per layer: [2, H, 4H], W_hh transposed per direction

    /**
     * @param prefix    where the keys start, e.g. {@code lstm.}
     * @param inputSize features per step of the first layer
     * @param hidden    hidden size per direction
     * @param layers    stacked layers
     */
    public Lstm(String prefix, int inputSize, int hidden, int layers) {
        if (inputSize < 1 || hidden < 1 || layers < 1) {
            throw new IllegalArgumentException("LSTM needs positive sizes, got input "
                    + inputSize + ", hidden " + hidden + ", layers " + layers);
        }
        this.prefix = prefix;
        this.inputSize = inputSize;
        this.hidden = hidden;
        this.layers = layers;
    }

    public int hiddenSize() {
        return hidden;
    }

    /** Features per step of the output: both directions, {@code 2H}. */
    public int outputSize() {
        return 2 * hidden;
    }

    /** State-dict names and shapes, exactly as {@code nn.LSTM.state_dict()} has them. */
    public Map<String, long[]> expectedTensors() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (int layer = 0; layer < layers; layer++) {
            long in = layer == 0 ? inputSize : 2L * hidden;
            for (String direction : DIRECTIONS) {
                String suffix = "_l" + layer + direction;
                shapes.put(prefix + "weight_ih" + suffix, new long[] {4L * hidden, in});
                shapes.put(prefix + "weight_hh" + suffix, new long[] {4L * hidden, hidden});
                shapes.put(prefix + "bias_ih" + suffix, new long[] {4L * hidden});
                shapes.put(prefix + "bias_hh" + suffix, new long[] {4L * hidden});
            }
        }
        return shapes;
    }

    /** Checks and uploads the weights; {@code tensors} may hold other keys too. */
    public void load(Map<String, Tensor> tensors, Backend backend) {
        close();
        HeadWeights taken = new HeadWeights(tensors, expectedTensors());
        try {
            inputWeights = new Tensor[layers];
            inputBiases = new Tensor[layers];
            recurrentWeights = new Tensor[layers];
            for (int layer = 0; layer < layers; layer++) {
                int in = layer == 0 ? inputSize : 2 * hidden;
                float[] stacked = new float[8 * hidden * in];
                float[] bias = new float[8 * hidden];
                float[] recurrent = new float[2 * hidden * 4 * hidden];
                for (int dir = 0; dir < 2; dir++) {
                    String suffix = "_l" + layer + DIRECTIONS[dir];
                    float[] wih = taken.floats(prefix + "weight_ih" + suffix);
                    System.arraycopy(wih, 0, stacked, dir * wih.length, wih.length);
                    float[] bih = taken.floats(prefix + "bias_ih" + suffix);
                    float[] bhh = taken.floats(prefix + "bias_hh" + suffix);
                    for (int j = 0; j < 4 * hidden; j++) {
                        bias[dir * 4 * hidden + j] = bih[j] + bhh[j];
                    }
                    // W_hh is [4H, H]; the batched product wants its transpose, [H, 4H]
                    float[] whh = taken.floats(prefix + "weight_hh" + suffix);
                    for (int j = 0; j < 4 * hidden; j++) {
                        for (int k = 0; k < hidden; k++) {
                            recurrent[(dir * hidden + k) * 4 * hidden + j] = whh[j * hidden + k];
                        }
                    }
                }
                inputWeights[layer] = taken.upload(backend, stacked, 8L * hidden, in);
                inputBiases[layer] = taken.upload(backend, bias, 8L * hidden);
                recurrentWeights[layer] = taken.upload(backend, recurrent, 2, hidden,
                        4L * hidden);
            }
            taken.finishLoading();
            weights = taken;
        } catch (RuntimeException e) {
            taken.close();
            throw e;
        }
    }

    /**
     * Runs the LSTM over a batch of sequences.
     *
     * @param sequences {@code [B, S, in]} on the backend
     * @return {@code [B, S, 2H]} on the backend, owned by the caller
     */
    public Tensor forward(Backend backend, Tensor sequences) {
        if (weights == null) {
            throw new IllegalStateException("LSTM weights are not loaded");
        }
        if (sequences.rank() != 3 || sequences.dim(2) != inputSize || sequences.dim(0) < 1
                || sequences.dim(1) < 1) {
            throw new IllegalArgumentException("LSTM expects [B, S, " + inputSize + "] with B"
                    + " and S at least 1, got " + sequences);
        }
        int batch = sequences.size(0);
        int steps = sequences.size(1);

        Tensor layerInput = sequences;
        for (int layer = 0; layer < layers; layer++) {
            // input projections of all steps, both directions: [B, S, 8H]
            float[] projections;
            try (Tensor onDevice = backend.linear(layerInput, inputWeights[layer],
                    inputBiases[layer], Activation.IDENTITY);
                    Tensor onHost = backend.download(onDevice)) {
                projections = onHost.toFloatArray();
            } finally {
                if (layerInput != sequences) {
                    layerInput.close();
                }
            }

            // the recurrence, both directions step by step: [B, S, 2H]
            float[] output = recur(backend, projections, recurrentWeights[layer], batch, steps);

            try (Tensor host = Tensor.of(output, batch, steps, 2L * hidden)) {
                layerInput = backend.upload(host);
            }
        }
        return layerInput;
    }

    /**
     * One layer's recurrence. {@code projections} is {@code [B, S, 8H]}: per step the forward
     * direction's four gates, then the reverse direction's. Returns {@code [B, S, 2H]}.
     */
    private float[] recur(Backend backend, float[] projections, Tensor recurrent, int batch,
            int steps) {
        int gateWidth = 4 * hidden;
        float[] output = new float[batch * steps * 2 * hidden];
        float[] h = new float[2 * batch * hidden];     // [2, B, H]
        float[] c = new float[2 * batch * hidden];     // [2, B, H]
        float[] fromState = new float[2 * batch * gateWidth];

        for (int n = 0; n < steps; n++) {
            // W_hh·h of both directions in one batched product: [2, B, H] × [2, H, 4H]
            // LIMITATION: the gate update runs on the host between these products, so on a GPU
            // every step uploads 2·B·H and downloads 8·B·H floats; a fused device kernel for
            // the update would keep the state on the device.
            if (n > 0) {
                try (Tensor hostState = Tensor.of(h, 2, batch, hidden);
                        Tensor state = backend.upload(hostState);
                        Tensor product = backend.matmul(state, recurrent);
                        Tensor hostProduct = backend.download(product)) {
                    fromState = hostProduct.toFloatArray();
                }
            }

            // gates, then c' = f·c + i·g and h' = o·tanh(c'); the reverse direction at S-1-n
            for (int dir = 0; dir < 2; dir++) {
                int step = dir == 0 ? n : steps - 1 - n;
                for (int b = 0; b < batch; b++) {
                    int projected = ((b * steps + step) * 2 + dir) * gateWidth;
                    int recurred = (dir * batch + b) * gateWidth;
                    int state = (dir * batch + b) * hidden;
                    int out = (b * steps + step) * 2 * hidden + dir * hidden;
                    for (int k = 0; k < hidden; k++) {
                        float input = sigmoid(projections[projected + k]
                                + fromState[recurred + k]);
                        float forget = sigmoid(projections[projected + hidden + k]
                                + fromState[recurred + hidden + k]);
                        float cell = (float) Math.tanh(projections[projected + 2 * hidden + k]
                                + fromState[recurred + 2 * hidden + k]);
                        float emit = sigmoid(projections[projected + 3 * hidden + k]
                                + fromState[recurred + 3 * hidden + k]);
                        c[state + k] = forget * c[state + k] + input * cell;
                        h[state + k] = emit * (float) Math.tanh(c[state + k]);
                        output[out + k] = h[state + k];
                    }
                }
            }
        }
        return output;
    }

    private static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    /** Frees the uploaded weights; the LSTM can be loaded again afterwards. */
    @Override
    public void close() {
        if (weights != null) {
            weights.close();
            weights = null;
        }
    }
}
