package dev.lumbar.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightSetTest {

    @TempDir
    Path dir;

    /** The demo card beside a weights file holding {@code tensors}. */
    private ModelCard cardWith(Map<String, Tensor> tensors) throws IOException {
        Path card = Files.writeString(dir.resolve("demo.model.json"), ModelCardTest.DEMO);
        Safetensors.write(dir.resolve("demo-spinal-convnext.safetensors"), tensors, Map.of());
        return ModelCard.load(card);
    }

    private static Map<String, long[]> expected() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("encoder.stem.0.weight", new long[] {16, 3, 4, 4});
        shapes.put("encoder.stem.0.bias", new long[] {16});
        shapes.put("fc.weight", new long[] {3, 128});
        return shapes;
    }

    @Test
    void opensWeightsThatMatchAndIgnoresWhatTheCardSaysTo() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("encoder.stem.0.weight", Tensor.allocate(DType.BF16, 16, 3, 4, 4));
        tensors.put("encoder.stem.0.bias", Tensor.allocate(DType.F32, 16));
        tensors.put("fc.weight", Tensor.of(new float[384], 3, 128));
        tensors.put("encoder.head.fc.weight", Tensor.allocate(DType.F32, 7));
        tensors.put("aux.extra.weight", Tensor.allocate(DType.F32, 2));
        tensors.put("encoder.stem.1.num_batches_tracked", Tensor.allocate(DType.I64, 1));
        ModelCard card = cardWith(tensors);

        try (WeightSet weights = WeightSet.open(card, expected());
                Tensor stem = weights.f32("encoder.stem.0.weight")) {
            assertEquals(DType.F32, stem.dtype());
            assertArrayEquals(new long[] {16, 3, 4, 4}, stem.shape());
            assertEquals(DType.BF16, weights.view("encoder.stem.0.weight").dtype());
            assertEquals(List.copyOf(expected().keySet()),
                    List.copyOf(weights.expected().keySet()));
        }
    }

    @Test
    void listsEveryMissingUnexpectedAndMisshapenTensorInOneError() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("encoder.stem.0.weight", Tensor.allocate(DType.F32, 16, 4, 4, 3));
        tensors.put("fc.weight", Tensor.allocate(DType.I32, 3, 128));
        tensors.put("encoder.stages.9.weight", Tensor.allocate(DType.F32, 1));
        tensors.put("head.fc.weight", Tensor.allocate(DType.F32, 1));
        ModelCard card = cardWith(tensors);

        WeightMismatchException e = assertThrows(WeightMismatchException.class,
                () -> WeightSet.open(card, expected()));
        assertEquals(List.of("encoder.stem.0.bias"), e.missing());
        assertEquals(List.of("encoder.stages.9.weight", "head.fc.weight"), e.unexpected());
        assertEquals(2, e.mismatched().size());
        assertEquals(new WeightMismatchException.Mismatch("encoder.stem.0.weight",
                "[16, 3, 4, 4]", "[16, 4, 4, 3]"), e.mismatched().get(0));
        assertEquals("fc.weight", e.mismatched().get(1).name());
        String message = e.getMessage();
        assertTrue(message.startsWith(card.weights().toString()), message);
        assertTrue(message.contains("model 'demo-spinal-convnext'"), message);
        assertTrue(message.contains("missing (1): encoder.stem.0.bias"), message);
        assertTrue(message.contains("unexpected (2): encoder.stages.9.weight, head.fc.weight"),
                message);
        assertTrue(message.contains(
                "encoder.stem.0.weight expected [16, 3, 4, 4], found [16, 4, 4, 3]"), message);
        assertTrue(message.contains("fc.weight expected F32, F16 or BF16, found I32"),
                message);
    }

    @Test
    void refusesNonFiniteValuesAndNegativeVariancesNamingEachTensor() throws IOException {
        float[] stem = new float[16 * 3 * 4 * 4];
        stem[5] = Float.NaN;
        stem[17] = Float.NaN;
        Tensor bias = Tensor.allocate(DType.BF16, 16);
        bias.segment().set(ValueLayout.JAVA_SHORT_UNALIGNED, 6,
                (short) 0xff80); // bfloat16 minus infinity
        float[] variance = new float[16];
        variance[3] = -0.5f;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("encoder.stem.0.weight", Tensor.of(stem, 16, 3, 4, 4));
        tensors.put("encoder.stem.0.bias", bias);
        tensors.put("fc.weight", Tensor.of(new float[384], 3, 128));
        tensors.put("encoder.stem.1.running_var", Tensor.of(variance, 16));
        ModelCard card = cardWith(tensors);
        Map<String, long[]> expected = expected();
        expected.put("encoder.stem.1.running_var", new long[] {16});

        WeightMismatchException e = assertThrows(WeightMismatchException.class,
                () -> WeightSet.open(card, expected));
        assertEquals(List.of(
                new WeightMismatchException.Mismatch("encoder.stem.0.weight", "finite values",
                        "2 NaN or infinite"),
                new WeightMismatchException.Mismatch("encoder.stem.0.bias", "finite values",
                        "1 NaN or infinite"),
                new WeightMismatchException.Mismatch("encoder.stem.1.running_var",
                        "variances of zero or more", "1 negative")), e.mismatched());
        assertTrue(e.getMessage().startsWith(card.weights() + ": weights do not match"),
                e.getMessage());
        assertTrue(e.getMessage().contains(
                "encoder.stem.0.weight expected finite values, found 2 NaN or infinite"),
                e.getMessage());
    }

    @Test
    void reportsAMissingWeightsFileAgainstTheCard() throws IOException {
        Path cardFile = Files.writeString(dir.resolve("demo.model.json"), ModelCardTest.DEMO);
        ModelCard card = ModelCard.load(cardFile);
        ModelCardException e = assertThrows(ModelCardException.class,
                () -> WeightSet.open(card, expected()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());

        Files.createDirectory(card.weights());
        e = assertThrows(ModelCardException.class, () -> WeightSet.open(card, expected()));
        assertTrue(e.getMessage().contains(card.weights() + " is a folder, not a file"),
                e.getMessage());
    }
}
