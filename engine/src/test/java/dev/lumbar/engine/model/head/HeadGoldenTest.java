package dev.lumbar.engine.model.head;

import static dev.lumbar.engine.model.head.HeadFixtures.array;
import static dev.lumbar.engine.model.head.HeadFixtures.assertClose;
import static dev.lumbar.engine.model.head.HeadFixtures.flatten;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.model.WeightSet;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every head against PyTorch, computed in float64 by {@code make_head_fixtures.py} from the
 * same float32 weights and inputs; the Java side computes in float32.
 */
class HeadGoldenTest {

    /** Relative error allowed (absolute for values below 1 in magnitude). */
    private static final double TOLERANCE = 1e-4;

    static Stream<HeadFixtures.Case> milCases() {
        return HeadFixtures.cases("mil_bilstm").stream();
    }

    static Stream<HeadFixtures.Case> sliceScorerCases() {
        return HeadFixtures.cases("slice_scorer").stream();
    }

    static Stream<HeadFixtures.Case> keypointCases() {
        return HeadFixtures.cases("keypoint").stream();
    }

    /** Every head runs on the naive reference and on the CPU backend the engine ships. */
    static Stream<String> backends() {
        return Stream.of("reference", "cpu");
    }

    private static Backend backend(String name) {
        return name.equals("cpu") ? new CpuBackend(2) : new ReferenceBackend();
    }

    static Stream<Arguments> withBackends(Stream<HeadFixtures.Case> cases) {
        List<HeadFixtures.Case> all = cases.toList();
        return backends().flatMap(b -> all.stream().map(c -> Arguments.of(c, b)));
    }

    static Stream<Arguments> milCasesOnBackends() {
        return withBackends(milCases());
    }

    static Stream<Arguments> sliceScorerCasesOnBackends() {
        return withBackends(sliceScorerCases());
    }

    static Stream<Arguments> keypointCasesOnBackends() {
        return withBackends(keypointCases());
    }

    @ParameterizedTest
    @MethodSource("milCasesOnBackends")
    void lstmMatchesTorchBidirectionalLstm(HeadFixtures.Case c, String backendName)
            throws IOException {
        int features = c.option("features");
        Map<String, Tensor> weights = HeadFixtures.weights(c);
        try (Backend backend = backend(backendName);
                Lstm lstm = new Lstm("lstm.", features, c.option("lstm_hidden"),
                        c.option("lstm_layers"));
                Tensor input = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            lstm.load(weights, backend);

            try (Tensor output = lstm.forward(backend, input);
                    Tensor host = backend.download(output)) {
                HeadFixtures.Array expected = array(c, "expected_lstm");
                assertArrayEquals(expected.shape(), host.shape());
                assertClose(c + " lstm output", expected, host.toFloatArray(), TOLERANCE);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("milCasesOnBackends")
    void milBiLstmHeadMatchesTorchLogitsAndAttention(HeadFixtures.Case c, String backendName)
            throws IOException {
        int features = c.option("features");
        Map<String, Object> card = Map.of("type", "mil_bilstm",
                "lstm_layers", (long) c.option("lstm_layers"),
                "lstm_hidden", (long) c.option("lstm_hidden"),
                "num_classes", (long) c.option("num_classes"));
        try (Backend backend = backend(backendName);
                Head head = Head.create(card, features);
                Tensor input = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            MilBiLstmHead mil = assertInstanceOf(MilBiLstmHead.class, head);
            mil.load(HeadFixtures.weights(c), backend);

            MilBiLstmHead.Output output = mil.forward(input);

            assertEquals(c.option("batch"), output.logits().length);
            assertClose(c + " logits", array(c, "expected_logits"), flatten(output.logits()),
                    TOLERANCE);
            assertClose(c + " attention", array(c, "expected_attention"),
                    flatten(output.attention()), TOLERANCE);
            for (float[] alpha : output.attention()) {
                double sum = 0;
                for (float a : alpha) {
                    sum += a;
                }
                assertEquals(1.0, sum, 1e-5, "attention over a bag sums to 1");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void concatPoolHeadMatchesTorchStackedPooling(String backendName) throws IOException {
        HeadFixtures.Case c = HeadFixtures.cases("concat_pool").getFirst();
        int slices = c.option("slices");
        try (Backend backend = backend(backendName);
                Head head = Head.create(Map.of("type", "concat_pool",
                        "num_classes", (long) c.option("num_classes")), c.option("features"));
                Tensor maps = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            ConcatPoolHead pool = assertInstanceOf(ConcatPoolHead.class, head);
            pool.load(HeadFixtures.weights(c), backend);

            float[][] logits = pool.forward(maps, slices);

            assertEquals(c.option("batch"), logits.length);
            assertClose(c + " logits", array(c, "expected_logits"), flatten(logits), TOLERANCE);
        }
    }

    @Test
    void concatPoolHonoursAvgMaxOrder() throws IOException {
        HeadFixtures.Case c = HeadFixtures.cases("concat_pool").getFirst();
        int features = c.option("features");
        int classes = c.option("num_classes");
        // the same layer with its two input halves swapped must give the same logits
        Map<String, Tensor> weights = HeadFixtures.weights(c);
        float[] w = weights.get("fc.weight").toFloatArray();
        float[] swapped = new float[w.length];
        for (int k = 0; k < classes; k++) {
            System.arraycopy(w, k * 2 * features, swapped, k * 2 * features + features,
                    features);
            System.arraycopy(w, k * 2 * features + features, swapped, k * 2 * features,
                    features);
        }
        weights.put("fc.weight", Tensor.of(swapped, classes, 2L * features));
        try (Backend backend = new ReferenceBackend();
                Head head = Head.create(Map.of("type", "concat_pool", "pool_order", "avg_max",
                        "num_classes", (long) classes), features);
                Tensor maps = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            head.load(weights, backend);

            float[][] logits = ((ConcatPoolHead) head).forward(maps, c.option("slices"));

            assertClose(c + " logits, avg_max", array(c, "expected_logits"), flatten(logits),
                    TOLERANCE);
        }
    }

    @ParameterizedTest
    @MethodSource("sliceScorerCasesOnBackends")
    void sliceScorerPicksTheSlicesTorchPicks(HeadFixtures.Case c, String backendName)
            throws IOException {
        try (Backend backend = backend(backendName);
                Head head = Head.create(Map.of("type", "slice_scorer",
                        "num_targets", (long) c.option("num_targets"),
                        "rolling_window", (long) c.option("rolling_window")),
                        c.option("features"));
                Tensor slices = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            SliceScorerHead scorer = assertInstanceOf(SliceScorerHead.class, head);
            scorer.load(HeadFixtures.weights(c), backend);

            SliceScorerHead.Output output = scorer.forward(slices);

            assertClose(c + " scores", array(c, "expected_scores"), flatten(output.scores()),
                    TOLERANCE);
            assertClose(c + " probabilities", array(c, "expected_probabilities"),
                    flatten(output.probabilities()), TOLERANCE);
            double[] expectedSlices = array(c, "expected_slice").values();
            for (int t = 0; t < expectedSlices.length; t++) {
                assertEquals((int) expectedSlices[t], output.slice()[t], c + " target " + t);
            }
            assertClose(c + " confidence", array(c, "expected_confidence"), output.confidence(),
                    TOLERANCE);
        }
    }

    @ParameterizedTest
    @MethodSource("keypointCasesOnBackends")
    void keypointHeadMatchesTorchCoordinates(HeadFixtures.Case c, String backendName)
            throws IOException {
        int targets = c.option("num_targets");
        try (Backend backend = backend(backendName);
                Head head = Head.create(Map.of("type", "keypoint", "num_targets", (long) targets,
                        "activation", c.options().get("activation")), c.option("features"));
                Tensor pooled = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            KeypointHead keypoint = assertInstanceOf(KeypointHead.class, head);
            keypoint.load(HeadFixtures.weights(c), backend);

            float[][][] points = keypoint.forward(pooled);

            float[] flat = new float[points.length * targets * 2];
            for (int n = 0; n < points.length; n++) {
                for (int t = 0; t < targets; t++) {
                    flat[(n * targets + t) * 2] = points[n][t][0];
                    flat[(n * targets + t) * 2 + 1] = points[n][t][1];
                }
            }
            assertClose(c + " points", array(c, "expected_points"), flat, TOLERANCE);
        }
    }

    @Test
    void loadsFromASafetensorsWeightSetWithF16Storage(@TempDir Path temp) throws IOException {
        HeadFixtures.Case c = HeadFixtures.cases("mil_bilstm").get(5);
        Map<String, Object> card = Map.of("type", "mil_bilstm",
                "lstm_layers", (long) c.option("lstm_layers"));
        Map<String, Tensor> halves = new LinkedHashMap<>();
        HeadFixtures.weights(c).forEach((name, t) -> halves.put(name, toF16(t)));
        Path file = temp.resolve("head.safetensors");
        Safetensors.write(file, halves, Map.of());

        try (Backend backend = new CpuBackend(1);
                Head head = Head.create(card, c.option("features"));
                WeightSet weights = WeightSet.open(file, "test head", head.expectedTensors(),
                        List.of());
                Tensor input = backend.upload(HeadFixtures.tensor(array(c, "input")))) {
            head.load(weights, backend);

            MilBiLstmHead.Output output = ((MilBiLstmHead) head).forward(input);

            // F16 weights round to 3 decimal digits, far from the F32 golden tolerance
            assertClose(c + " logits from F16 weights", array(c, "expected_logits"),
                    flatten(output.logits()), 2e-2);
        }
    }

    private static Tensor toF16(Tensor f32) {
        float[] values = f32.toFloatArray();
        Tensor half = Tensor.allocate(DType.F16, f32.shape());
        for (int i = 0; i < values.length; i++) {
            half.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED
                    .withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    i, Float.floatToFloat16(values[i]));
        }
        return half;
    }

    @Test
    void expectedTensorsFollowPyTorchNamesAndShapes() {
        Head head = Head.create(Map.of("type", "mil_bilstm", "lstm_layers", 2L), 16);
        Map<String, long[]> shapes = head.expectedTensors();

        assertArrayEquals(new long[] {32, 16}, shapes.get("lstm.weight_ih_l0"));
        assertArrayEquals(new long[] {32, 16}, shapes.get("lstm.weight_ih_l1_reverse"));
        assertArrayEquals(new long[] {32, 8}, shapes.get("lstm.weight_hh_l1"));
        assertArrayEquals(new long[] {32}, shapes.get("lstm.bias_hh_l0_reverse"));
        assertArrayEquals(new long[] {1, 16}, shapes.get("attention.1.weight"));
        assertArrayEquals(new long[] {3, 16}, shapes.get("fc.weight"));
        assertEquals(16 + 4, shapes.size());
        assertArrayEquals(new long[] {3, 20}, Head.create(Map.of("type", "mil_bilstm",
                "lstm_hidden", 10L), 16).expectedTensors().get("fc.weight"));
    }

    @Test
    void loadNamesTheMissingOrMisshapenTensor() {
        try (Backend backend = new ReferenceBackend();
                Head head = Head.create(Map.of("type", "keypoint", "num_targets", 5L,
                        "fc", "head.fc"), 16)) {
            Map<String, Tensor> weights = new HashMap<>();
            weights.put("head.fc.weight", Tensor.zeros(10, 16));
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> head.load(weights, backend));
            assertTrue(missing.getMessage().contains("'head.fc.bias'"), missing.getMessage());

            weights.put("head.fc.bias", Tensor.zeros(11));
            IllegalArgumentException misshapen = assertThrows(IllegalArgumentException.class,
                    () -> head.load(weights, backend));
            assertTrue(misshapen.getMessage().contains("[11]"), misshapen.getMessage());
        }
    }

    @Test
    void createRejectsUnknownTypesAndBadOptions() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Head.create(Map.of("type", "transformer"), 16));
        assertTrue(unknown.getMessage().contains("transformer"));
        assertThrows(IllegalArgumentException.class,
                () -> Head.create(Map.of("type", "slice_scorer"), 16));
        assertThrows(IllegalArgumentException.class,
                () -> Head.create(Map.of("type", "concat_pool", "pool_order", "mean"), 16));
        assertThrows(IllegalArgumentException.class,
                () -> Head.create(Map.of("type", "mil_bilstm", "num_classes", 2.5), 16));
        assertEquals(List.of("fc.weight", "fc.bias"), List.copyOf(
                Head.create(Map.of("type", "concat_pool"), 16).expectedTensors().keySet()));
    }
}
