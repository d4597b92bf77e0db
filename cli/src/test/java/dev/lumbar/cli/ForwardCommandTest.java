package dev.lumbar.cli;

import static dev.lumbar.cli.CommandRun.lumbar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.model.head.Head;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code lumbar forward} on the backbone golden fixtures, and its exit codes. */
class ForwardCommandTest {

    @TempDir
    Path dir;

    /** Copies a fixture's card, weights, input and reference output out of the test jar. */
    private void copyFixture(String name) throws IOException {
        for (String suffix : new String[] {".model.json", ".safetensors", ".input.npy",
            ".output.npy", ".features.npy"}) {
            try (InputStream in = getClass().getResourceAsStream(
                    "/fixtures/backbones/" + name + suffix)) {
                Files.copy(in, dir.resolve(name + suffix));
            }
        }
    }

    private static double relativeError(Path actualFile, Path referenceFile) throws IOException {
        try (Tensor actual = Npy.read(actualFile); Tensor reference = Npy.read(referenceFile)) {
            assertArrayEquals(reference.shape(), actual.shape());
            float[] a = actual.toFloatArray();
            float[] r = reference.toFloatArray();
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < a.length; i++) {
                diff += (double) (a[i] - r[i]) * (a[i] - r[i]);
                norm += (double) r[i] * r[i];
            }
            return Math.sqrt(diff / norm);
        }
    }

    @ParameterizedTest
    @CsvSource({"convnext_atto_tiny, 1e-5", "tf_efficientnetv2_s_tiny_bf16, 1e-4",
        "efficientnetv2_rw_s_tiny, 1e-4"})
    void writesTheReferenceOutputOfABackboneCard(String name, double tolerance)
            throws IOException {
        copyFixture(name);
        Path out = dir.resolve("out.npy");
        int code = Main.run("forward", "--model", dir.resolve(name + ".model.json").toString(),
                "--input", dir.resolve(name + ".input.npy").toString(),
                "--output", out.toString(), "--device", "cpu", "--threads", "2");
        assertEquals(0, code);
        double error = relativeError(out, dir.resolve(name + ".output.npy"));
        assertTrue(error <= tolerance, name + ": relative error " + error);
    }

    @Test
    void writesTheFeatureMapWithFeatures() throws IOException {
        copyFixture("tf_efficientnet_b2_tiny");
        Path out = dir.resolve("features.npy");
        int code = Main.run("forward", "-m", dir.resolve("tf_efficientnet_b2_tiny.model.json")
                .toString(), "-i", dir.resolve("tf_efficientnet_b2_tiny.input.npy").toString(),
                "-o", out.toString(), "--features", "--threads", "1");
        assertEquals(0, code);
        assertTrue(relativeError(out, dir.resolve("tf_efficientnet_b2_tiny.features.npy"))
                <= 1e-4);
    }

    @Test
    @SuppressWarnings("unchecked")
    void readsWeightsUnderTheCardsPrefix() throws IOException {
        copyFixture("convnext_tiny_tiny");

        // the same weights saved as a bigger model's state dict would hold them
        Path prefixed = dir.resolve("prefixed.safetensors");
        try (Safetensors plain = Safetensors.open(dir.resolve("convnext_tiny_tiny.safetensors"))) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : plain.names()) {
                tensors.put("encoder." + name, plain.view(name));
            }
            tensors.put("fc.weight", plain.view("head.fc.weight"));
            Safetensors.write(prefixed, tensors, Map.of());
        }
        Map<String, Object> card = (Map<String, Object>) Json.read(
                dir.resolve("convnext_tiny_tiny.model.json"));
        card.put("weights", "prefixed.safetensors");
        card.put("ignore", java.util.List.of("fc.weight"));
        ((Map<String, Object>) card.get("backbone")).put("prefix", "encoder.");
        Json.writeAtomically(dir.resolve("prefixed.model.json"), card);

        Path out = dir.resolve("out.npy");
        int code = Main.run("forward", "-m", dir.resolve("prefixed.model.json").toString(),
                "-i", dir.resolve("convnext_tiny_tiny.input.npy").toString(),
                "-o", out.toString(), "--threads", "1");
        assertEquals(0, code);
        assertTrue(relativeError(out, dir.resolve("convnext_tiny_tiny.output.npy")) <= 1e-5);
    }

    @Test
    @SuppressWarnings("unchecked")
    void exitCodesSayWhatWentWrong() throws IOException {
        copyFixture("convnext_atto_tiny");
        String card = dir.resolve("convnext_atto_tiny.model.json").toString();
        String input = dir.resolve("convnext_atto_tiny.input.npy").toString();
        Path out = dir.resolve("out.npy");

        // a missing input file
        assertEquals(2, Main.run("forward", "-m", card, "-i", dir.resolve("nope.npy")
                .toString(), "-o", out.toString()));

        // an input with the wrong number of channels
        Path oneChannel = dir.resolve("one-channel.npy");
        try (Tensor x = Tensor.zeros(1, 1, 32, 32)) {
            Npy.write(oneChannel, x);
        }
        assertEquals(2, Main.run("forward", "-m", card, "-i", oneChannel.toString(),
                "-o", out.toString()));

        // images smaller than the network accepts: unusable input, named, not an internal error
        Path tiny = dir.resolve("tiny.npy");
        try (Tensor x = Tensor.zeros(1, 3, 8, 8)) {
            Npy.write(tiny, x);
        }
        CommandRun small = lumbar("forward", "-m", card, "-i", tiny.toString(), "-o",
                out.toString(), "--device", "cpu", "--threads", "1");
        assertEquals(2, small.exit(), small.err());
        assertTrue(small.err().contains(tiny + ": ") && small.err().contains("32"), small.err());
        assertFalse(small.err().contains("internal error"), small.err());

        // no GPU path in this command
        assertEquals(5, Main.run("forward", "-m", card, "-i", input, "-o", out.toString(),
                "--device", "cuda"));

        // weights that do not fit the card's architecture
        Map<String, Object> json = (Map<String, Object>) Json.read(Path.of(card));
        ((Map<String, Object>) json.get("backbone")).put("arch", "convnext_tiny");
        Path wrongArch = dir.resolve("wrong-arch.model.json");
        Json.writeAtomically(wrongArch, json);
        assertEquals(2, Main.run("forward", "-m", wrongArch.toString(), "-i", input,
                "-o", out.toString()));

        // an architecture this engine does not know
        ((Map<String, Object>) json.get("backbone")).put("arch", "resnet50");
        Path unknownArch = dir.resolve("unknown-arch.model.json");
        Json.writeAtomically(unknownArch, json);
        assertEquals(4, Main.run("forward", "-m", unknownArch.toString(), "-i", input,
                "-o", out.toString()));

        // a head type this engine does not have
        ((Map<String, Object>) json.get("backbone")).put("arch", "convnext_atto");
        json.put("head", Map.of("type", "transformer"));
        Path withHead = dir.resolve("with-head.model.json");
        Json.writeAtomically(withHead, json);
        assertEquals(4, Main.run("forward", "-m", withHead.toString(), "-i", input,
                "-o", out.toString()));

        // a head on a backbone that keeps its classifier
        json.put("head", Map.of("type", "mil_bilstm"));
        Json.writeAtomically(withHead, json);
        assertEquals(2, Main.run("forward", "-m", withHead.toString(), "-i", input,
                "-o", out.toString()));
        assertFalse(Files.exists(out));
    }

    @Test
    void namesTheProblemWithThreadsAndOutputPaths() throws IOException {
        copyFixture("convnext_atto_tiny");
        String card = dir.resolve("convnext_atto_tiny.model.json").toString();
        String input = dir.resolve("convnext_atto_tiny.input.npy").toString();

        CommandRun threads = lumbar("forward", "-m", card, "-i", input, "-o",
                dir.resolve("out.npy").toString(), "--threads", "100000");
        assertEquals(2, threads.exit());
        assertTrue(threads.err().startsWith("lumbar forward: --threads must be between 1 and "
                + ForwardCommand.MAX_THREADS + ", got 100000"), threads.err());

        Path noFolder = dir.resolve("nodir").resolve("x.npy");
        CommandRun missing = lumbar("forward", "-m", card, "-i", input, "-o", noFolder.toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains(noFolder + ": the folder "), missing.err());
        assertTrue(missing.err().contains("does not exist"), missing.err());

        CommandRun folder = lumbar("forward", "-m", card, "-i", input, "-o", dir.toString());
        assertEquals(2, folder.exit());
        assertEquals("lumbar forward: " + dir + ": is a folder; name the output file",
                folder.err().strip());

        CommandRun device = lumbar("forward", "-m", card, "-i", input, "-o",
                dir.resolve("out.npy").toString(), "--device", "tpu");
        assertEquals(2, device.exit());
        assertTrue(device.err().contains("expected auto, cpu, cuda or cuda:N"), device.err());
    }

    /**
     * Writes a card for the tiny ConvNeXt backbone (pooled features, 32 wide) with the given
     * head, and a safetensors file with the backbone's weights plus random head weights of the
     * shapes the head expects.
     */
    @SuppressWarnings("unchecked")
    private Path cardWithHead(Map<String, Object> headConfig, int slices) throws IOException {
        copyFixture("convnext_atto_tiny");
        Path weights = dir.resolve("with-head.safetensors");
        Random random = new Random(7);
        try (Safetensors plain = Safetensors.open(dir.resolve("convnext_atto_tiny.safetensors"));
                Head head = Head.create(headConfig, 32)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : plain.names()) {
                if (!name.startsWith("head.fc.")) {
                    tensors.put("encoder." + name, plain.view(name));
                }
            }
            head.expectedTensors().forEach((name, shape) -> {
                float[] values = new float[(int) Tensor.numel(shape)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * 0.3);
                }
                tensors.put(name, Tensor.of(values, shape));
            });
            Safetensors.write(weights, tensors, Map.of());
        }
        Map<String, Object> card = (Map<String, Object>) Json.read(
                dir.resolve("convnext_atto_tiny.model.json"));
        card.put("weights", weights.getFileName().toString());
        Map<String, Object> backbone = (Map<String, Object>) card.get("backbone");
        backbone.put("num_classes", 0L);
        backbone.put("prefix", "encoder.");
        card.put("head", headConfig);
        ((Map<String, Object>) card.get("input")).put("slices", (long) slices);
        Path file = dir.resolve("with-head.model.json");
        Json.writeAtomically(file, card);
        return file;
    }

    private Path randomInput(String name, long... shape) throws IOException {
        Random random = new Random(11);
        float[] values = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat();
        }
        Path file = dir.resolve(name);
        try (Tensor x = Tensor.of(values, shape)) {
            Npy.write(file, x);
        }
        return file;
    }

    private Tensor forward(Path card, Path input) throws IOException {
        Path out = dir.resolve("out-" + input.getFileName());
        CommandRun result = lumbar("forward", "-m", card.toString(), "-i", input.toString(),
                "-o", out.toString(), "--device", "cpu", "--threads", "1");
        assertEquals(0, result.exit(), result.err());
        return Npy.read(out);
    }

    @ParameterizedTest
    @CsvSource({"mil_bilstm", "concat_pool"})
    void runsABagHeadOnBagsOfTheCardsSlices(String type) throws IOException {
        Path card = cardWithHead(new LinkedHashMap<>(Map.of("type", type, "num_classes", 3L)),
                3);
        try (Tensor fiveD = forward(card, randomInput("bags.npy", 2, 3, 3, 32, 32));
                Tensor flat = forward(card, randomInput("flat.npy", 6, 3, 32, 32));
                Tensor first = forward(card, randomInput("first.npy", 1, 3, 3, 32, 32))) {
            assertArrayEquals(new long[] {2, 3}, fiveD.shape());
            // [B, S, C, H, W] and [B·S, C, H, W] are the same bags
            assertArrayEquals(fiveD.toFloatArray(), flat.toFloatArray(), 1e-6f);
            // the first bag alone gives the first row: bags do not mix
            float[] firstRow = java.util.Arrays.copyOf(fiveD.toFloatArray(), 3);
            assertArrayEquals(firstRow, first.toFloatArray(), 1e-5f);
        }

        // a batch that is not whole bags, or bags of another size, does not fit
        CommandRun partial = lumbar("forward", "-m", card.toString(), "-i",
                randomInput("partial.npy", 5, 3, 32, 32).toString(), "-o",
                dir.resolve("o.npy").toString(), "--threads", "1");
        assertEquals(2, partial.exit());
        assertTrue(partial.err().contains("input.slices is 3"), partial.err());
        assertEquals(2, lumbar("forward", "-m", card.toString(), "-i",
                randomInput("four.npy", 1, 4, 3, 32, 32).toString(), "-o",
                dir.resolve("o.npy").toString(), "--threads", "1").exit());
    }

    /**
     * The MIL card's logits equal the head run by hand on the pooled features that the same
     * backbone, as a card without a head, writes: the command wires encoder and head together
     * (prefix, pooled features, bags) and adds nothing.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aMilCardEqualsItsBackboneThenItsHead() throws IOException {
        Map<String, Object> headConfig = new LinkedHashMap<>(Map.of("type", "mil_bilstm",
                "num_classes", 4L, "lstm_layers", 2L));
        Path card = cardWithHead(headConfig, 3);
        Path bags = randomInput("bags.npy", 2, 3, 3, 32, 32);

        // the backbone alone: the same weights, no head, every image of the bags
        Map<String, Object> json = (Map<String, Object>) Json.read(card);
        json.put("head", Map.of("type", "none"));
        json.put("ignore", java.util.List.of("lstm.*", "attention.*", "fc.*"));
        Path backboneOnly = dir.resolve("backbone-only.model.json");
        Json.writeAtomically(backboneOnly, json);
        Path images = dir.resolve("images.npy");
        try (Tensor five = Npy.read(bags)) {
            Npy.write(images, five.reshape(6, 3, 32, 32));
        }

        try (Tensor logits = forward(card, bags);
                Tensor pooled = forward(backboneOnly, images);
                Safetensors weights = Safetensors.open(dir.resolve("with-head.safetensors"));
                Head head = Head.create(headConfig, 32);
                dev.lumbar.engine.backend.Backend cpu =
                        new dev.lumbar.engine.backend.cpu.CpuBackend(1);
                Tensor instances = cpu.upload(pooled.reshape(2, 3, 32))) {
            assertArrayEquals(new long[] {6, 32}, pooled.shape());
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : head.expectedTensors().keySet()) {
                tensors.put(name, weights.view(name));
            }
            head.load(tensors, cpu);
            float[][] expected = ((dev.lumbar.engine.model.head.MilBiLstmHead) head)
                    .forward(instances).logits();
            assertArrayEquals(new long[] {2, 4}, logits.shape());
            float[] actual = logits.toFloatArray();
            for (int b = 0; b < 2; b++) {
                for (int k = 0; k < 4; k++) {
                    assertEquals(expected[b][k], actual[b * 4 + k], 1e-5, "bag " + b);
                }
            }
        }
        // and check accepts the card that forward runs
        assertEquals(0, lumbar("check", card.toString()).exit());
    }

    @Test
    void runsASliceScorerOverEachSeries() throws IOException {
        Path card = cardWithHead(new LinkedHashMap<>(Map.of("type", "slice_scorer",
                "num_targets", 4L, "fc", "fc")), 1);
        try (Tensor series = forward(card, randomInput("series.npy", 5, 3, 32, 32));
                Tensor two = forward(card, randomInput("two.npy", 2, 5, 3, 32, 32))) {
            assertArrayEquals(new long[] {5, 4}, series.shape());
            assertArrayEquals(new long[] {2, 5, 4}, two.shape());
            // each target's probabilities over the slices of one series sum to 1
            float[] p = two.toFloatArray();
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t < 4; t++) {
                    double sum = 0;
                    for (int s = 0; s < 5; s++) {
                        sum += p[(b * 5 + s) * 4 + t];
                    }
                    assertEquals(1.0, sum, 1e-5);
                }
            }
        }
    }

    @Test
    void runsAKeypointHeadOnEveryImage() throws IOException {
        Path card = cardWithHead(new LinkedHashMap<>(Map.of("type", "keypoint",
                "num_targets", 5L, "fc", "fc")), 1);
        try (Tensor points = forward(card, randomInput("images.npy", 3, 3, 32, 32));
                Tensor one = forward(card, randomInput("one.npy", 3, 32, 32))) {
            assertArrayEquals(new long[] {3, 5, 2}, points.shape());
            assertArrayEquals(new long[] {1, 5, 2}, one.shape());
            for (float v : points.toFloatArray()) {
                assertTrue(v > 0 && v < 1, "sigmoid output " + v);
            }
        }
    }
}
