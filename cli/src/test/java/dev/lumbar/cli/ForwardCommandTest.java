package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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

        // a head this command does not run
        ((Map<String, Object>) json.get("backbone")).put("arch", "convnext_atto");
        json.put("head", Map.of("type", "mil_bilstm"));
        Path withHead = dir.resolve("with-head.model.json");
        Json.writeAtomically(withHead, json);
        assertEquals(4, Main.run("forward", "-m", withHead.toString(), "-i", input,
                "-o", out.toString()));
        assertFalse(Files.exists(out));
    }
}
