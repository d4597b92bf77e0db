package dev.lumbar.engine.model.head;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A multi-layer bidirectional LSTM with PyTorch's semantics ({@code nn.LSTM(batch_first=True,
 * bidirectional=True)}): zero initial states; gates in the order input, forget, cell, output;
 * {@code c' = f·c + i·g}, {@code h' = o·tanh(c')}; the reverse direction reads the sequence
 * from its end and its output at step t sits beside the forward output at step t; a layer's
 * input is the previous layer's {@code [forward, reverse]} output.
 *
 * <p>Per layer, the input projections of every step of both directions are one GEMM on the
 * backend ({@code [B·S, in] × [in, 8H]}); the recurrence {@code W_hh · h} then runs step by
 * step on the host.
 */
public final class Lstm implements AutoCloseable {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final String[] DIRECTIONS = {"", "_reverse"};

    private final String prefix;
    private final int inputSize;
    private final int hidden;
    private final int layers;

    private HeadWeights weights;
    private Tensor[] inputWeights;      // per layer: [8H, in], forward gates then reverse gates
    private Tensor[] inputBiases;       // per layer: [8H], bias_ih + bias_hh of both directions
    private float[][][] recurrentWeights; // per layer and direction: [4H, H] row-major

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
            recurrentWeights = new float[layers][2][];
            for (int layer = 0; layer < layers; layer++) {
                int in = layer == 0 ? inputSize : 2 * hidden;
                float[] stacked = new float[8 * hidden * in];
                float[] bias = new float[8 * hidden];
                for (int dir = 0; dir < 2; dir++) {
                    String suffix = "_l" + layer + DIRECTIONS[dir];
                    float[] wih = taken.floats(prefix + "weight_ih" + suffix);
                    System.arraycopy(wih, 0, stacked, dir * wih.length, wih.length);
                    float[] bih = taken.floats(prefix + "bias_ih" + suffix);
                    float[] bhh = taken.floats(prefix + "bias_hh" + suffix);
                    for (int j = 0; j < 4 * hidden; j++) {
                        bias[dir * 4 * hidden + j] = bih[j] + bhh[j];
                    }
                    recurrentWeights[layer][dir] = taken.floats(prefix + "weight_hh" + suffix);
                }
                inputWeights[layer] = taken.upload(backend, stacked, 8L * hidden, in);
                inputBiases[layer] = taken.upload(backend, bias, 8L * hidden);
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
        if (sequences.rank() != 3 || sequences.dim(2) != inputSize) {
            throw new IllegalArgumentException("LSTM expects [B, S, " + inputSize + "], got "
                    + sequences);
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
            }
            if (layerInput != sequences) {
                layerInput.close();
            }

            // the recurrence, one direction at a time: [B, S, 2H]
            float[] output = new float[batch * steps * 2 * hidden];
            for (int dir = 0; dir < 2; dir++) {
                recur(projections, recurrentWeights[layer][dir], dir, batch, steps, output);
            }

            try (Tensor host = Tensor.of(output, batch, steps, 2L * hidden)) {
                layerInput = backend.upload(host);
            }
        }
        return layerInput;
    }

    /**
     * One direction of one layer. {@code projections} is {@code [B, S, 8H]} with this
     * direction's four gates at offset {@code dir·4H}; writes {@code h} at offset {@code dir·H}
     * of {@code output} {@code [B, S, 2H]}.
     */
    private void recur(float[] projections, float[] recurrent, int dir, int batch, int steps,
            float[] output) {
        int gatesPerStep = 4 * hidden;
        float[] h = new float[batch * hidden];
        float[] c = new float[batch * hidden];
        float[] gates = new float[batch * gatesPerStep];

        for (int n = 0; n < steps; n++) {
            int step = dir == 0 ? n : steps - 1 - n;

            // gates = W_ih·x + b (precomputed) + W_hh·h, each row of W_hh read once per step
            for (int b = 0; b < batch; b++) {
                System.arraycopy(projections, ((b * steps + step) * 2 + dir) * gatesPerStep,
                        gates, b * gatesPerStep, gatesPerStep);
            }
            if (n > 0) {
                for (int j = 0; j < gatesPerStep; j++) {
                    for (int b = 0; b < batch; b++) {
                        gates[b * gatesPerStep + j] += dot(recurrent, j * hidden, h, b * hidden,
                                hidden);
                    }
                }
            }

            // c' = f·c + i·g, h' = o·tanh(c')
            for (int b = 0; b < batch; b++) {
                int g0 = b * gatesPerStep;
                int out = (b * steps + step) * 2 * hidden + dir * hidden;
                for (int k = 0; k < hidden; k++) {
                    float input = sigmoid(gates[g0 + k]);
                    float forget = sigmoid(gates[g0 + hidden + k]);
                    float cell = (float) Math.tanh(gates[g0 + 2 * hidden + k]);
                    float outGate = sigmoid(gates[g0 + 3 * hidden + k]);
                    int s = b * hidden + k;
                    c[s] = forget * c[s] + input * cell;
                    h[s] = outGate * (float) Math.tanh(c[s]);
                    output[out + k] = h[s];
                }
            }
        }
    }

    private static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    private static float dot(float[] a, int aOffset, float[] b, int bOffset, int length) {
        FloatVector sum = FloatVector.zero(SPECIES);
        int i = 0;
        int bound = SPECIES.loopBound(length);
        for (; i < bound; i += SPECIES.length()) {
            FloatVector va = FloatVector.fromArray(SPECIES, a, aOffset + i);
            FloatVector vb = FloatVector.fromArray(SPECIES, b, bOffset + i);
            sum = va.fma(vb, sum);
        }
        float total = sum.reduceLanes(VectorOperators.ADD);
        for (; i < length; i++) {
            total += a[aOffset + i] * b[bOffset + i];
        }
        return total;
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
