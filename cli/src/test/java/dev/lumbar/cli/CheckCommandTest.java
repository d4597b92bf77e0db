package dev.lumbar.cli;

import static dev.lumbar.cli.CommandRun.lumbar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CheckCommandTest {

    @TempDir
    Path dir;

    private Path weights() throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("encoder.stem.0.weight", Tensor.allocate(DType.BF16, 16, 3, 4, 4));
        tensors.put("fc.weight", Tensor.of(new float[6], 3, 2));
        Path file = dir.resolve("demo-spinal-convnext.safetensors");
        Safetensors.write(file, tensors, Map.of("format", "pt"));
        return file;
    }

    /** Copies the tiny ConvNeXt card and its weights out of the test jar. */
    private Path fixtureCard() throws Exception {
        for (String suffix : new String[] {".model.json", ".safetensors"}) {
            try (InputStream in = getClass().getResourceAsStream(
                    "/fixtures/backbones/convnext_atto_tiny" + suffix)) {
                Files.copy(in, dir.resolve("convnext_atto_tiny" + suffix));
            }
        }
        return dir.resolve("convnext_atto_tiny.model.json");
    }

    @Test
    void describesWeightsCardsAndArrays() throws Exception {
        Path weights = weights();
        Path card = fixtureCard();
        Path array = dir.resolve("probs.npy");
        Npy.write(array, Tensor.of(new float[] {0.25f, 0.5f, 0.25f}, 1, 3));

        CommandRun result = lumbar("check", "--tensors", weights.toString(), card.toString(),
                array.toString());
        assertEquals(0, result.exit(), result.err());
        assertTrue(result.out().contains(weights + ": safetensors, 2 tensors {F32=1, BF16=1}, "
                + "774 elements"), result.out());
        assertTrue(result.out().contains("metadata format = pt"), result.out());
        assertTrue(result.out().contains("encoder.stem.0.weight BF16 [16, 3, 4, 4]"),
                result.out());
        assertTrue(result.out().contains("'convnext_atto_tiny'"), result.out());
        assertTrue(result.out().contains("input 1 slices x 3 x 67 x 45"), result.out());
        assertTrue(result.out().contains("network convnext_atto (32 features) + head none: all"
                + " 65 tensors present"), result.out());
        assertTrue(result.out().contains("npy F32 [1, 3], min 0.25, max 0.5, mean "),
                result.out());

        Path withNaN = dir.resolve("nan.npy");
        Npy.write(withNaN, Tensor.of(new float[] {0.25f, Float.NaN, 0.75f}, 1, 3));
        CommandRun nan = lumbar("check", withNaN.toString());
        assertEquals(0, nan.exit(), nan.err());
        assertTrue(nan.out().contains("min 0.25, max 0.75, mean 0.5, 1 NaN or infinite"),
                nan.out());
    }

    /** Every card that forward refuses is invalid to check, with the reason. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "backbone.arch | \"resnet50\" | unknown backbone architecture 'resnet50'",
        "backbone.config.dims | [8, 16, 24] | dims",
        "backbone.config.depths | [1, -1, 2, 1] | depths",
        "backbone.config.dims | [8, \"x\", 24, 32] | dims",
        "backbone.num_classes | 7 | head.fc.weight",
        "backbone.prefix | \"x.\" | x.stem.0.weight",
        "head.type | \"bogus\" | unknown head type 'bogus'",
        "head.lstm_layer | 1 | a head of type 'none' takes no options, got [lstm_layer]",
        "head | {\"type\": \"mil_bilstm\"} | backbone.num_classes is 5"})
    @SuppressWarnings("unchecked")
    void refusesCardsThatForwardRefuses(String field, String json, String reason)
            throws Exception {
        Path card = fixtureCard();
        Map<String, Object> root = (Map<String, Object>) Json.read(card);
        String[] path = field.split("\\.");
        Map<String, Object> at = root;
        for (int i = 0; i < path.length - 1; i++) {
            at = (Map<String, Object>) at.get(path[i]);
        }
        at.put(path[path.length - 1], Json.parse(json));
        Path bad = dir.resolve("bad.model.json");
        Json.writeAtomically(bad, root);

        CommandRun result = lumbar("check", bad.toString());
        assertEquals(Main.BAD_INPUT, result.exit(), result.out());
        assertTrue(result.err().startsWith("lumbar check: "), result.err());
        assertTrue(result.err().contains(bad.toString()), result.err());
        assertTrue(result.err().contains(reason), result.err());
    }

    @Test
    void judgesFilesByContentAndNamesTheProblem() throws Exception {
        // a safetensors file under another name is still read as one
        Path misnamed = dir.resolve("weights.bin");
        Files.copy(weights(), misnamed);
        CommandRun result = lumbar("check", misnamed.toString());
        assertEquals(0, result.exit(), result.err());
        assertTrue(result.out().contains(misnamed + ": safetensors"), result.out());

        // a CSV is neither, whatever its size
        Path csv = Files.writeString(dir.resolve("x.csv"), "study_id,series_id\n1,2\n");
        result = lumbar("check", csv.toString());
        assertEquals(Main.BAD_INPUT, result.exit());
        assertEquals("lumbar check: " + csv + ": not a safetensors file, an .npy array or a"
                + " model card (by its first bytes)", result.err().strip());

        Path npyName = Files.writeString(dir.resolve("fake.npy"), "hello, world\n");
        result = lumbar("check", npyName.toString());
        assertTrue(result.err().contains(npyName + ": not a safetensors file"), result.err());
        assertTrue(result.err().contains("magic bytes"), result.err());

        Path missing = dir.resolve("nope.npy");
        result = lumbar("check", missing.toString());
        assertEquals("lumbar check: " + missing + ": no such file", result.err().strip());

        Path folder = Files.createDirectories(dir.resolve("d.npy"));
        result = lumbar("check", folder.toString());
        assertEquals("lumbar check: " + folder + ": is a folder, not a file",
                result.err().strip());
    }

    @Test
    void refusesACardWhoseWeightsLieOutsideItsFolder() throws Exception {
        Path card = fixtureCard();
        String json = Files.readString(card).replace("\"convnext_atto_tiny.safetensors\"",
                "\"../../../../etc/passwd\"");
        Path escaping = Files.writeString(dir.resolve("escaping.model.json"), json);
        CommandRun result = lumbar("check", escaping.toString());
        assertEquals(Main.BAD_INPUT, result.exit());
        assertTrue(result.err().contains("leads outside the card's folder"), result.err());
        assertFalse(result.out().contains("passwd: safetensors"), result.out());
    }

    private static final Path DEMO = Path.of("..", "weights", "demo", "demo.ensemble.json");

    @Test
    void checksAnEnsembleManifestAsPredictLoadsIt() throws Exception {
        CommandRun result = lumbar("check", DEMO.toString());
        assertEquals(0, result.exit(), result.err());
        assertTrue(result.out().contains(DEMO + ": lumbar-ensemble/1 'demo' (marked untrained)"),
                result.out());
        assertTrue(result.out().contains("stage1 SAG_T2: slices stage1/sag_t2_slices.model.json"),
                result.out());
        assertTrue(result.out().contains("networks built and checked against their weights"),
                result.out());
        assertFalse(result.err().contains("not a known field"), result.err());
    }

    @Test
    void anEnsembleWithAStage1CardInTheWrongSlotIsInvalid() throws Exception {
        Path demo = DEMO.toAbsolutePath().getParent();
        Path manifest = dir.resolve("wrong.ensemble.json");
        Files.writeString(manifest, """
                {"format": "lumbar-ensemble/1", "stage1": {"SAG_T2": {"points": "CARD"}},
                 "conditions": {}}
                """.replace("CARD", demo.resolve("stage1/ax_t2_points.model.json").toString()
                .replace("\\", "/")));
        CommandRun result = lumbar("check", manifest.toString());
        assertEquals(Main.BAD_INPUT, result.exit());
        assertTrue(result.err().contains(manifest + ": stage1.SAG_T2.points: model card"),
                result.err());
        assertTrue(result.err().contains("ax_t2_points.model.json has 2 targets; expected a"
                + " keypoint head with 5 targets"), result.err());

        // weights that disagree with a member's card are found too
        Path weightsGone = dir.resolve("card.model.json");
        Files.writeString(weightsGone, Files.readString(
                demo.resolve("stage2/spinal_convnext_mil.model.json"))
                .replaceAll("\"weights\": \"[^\"]*\"", "\"weights\": \"w.safetensors\""));
        Files.copy(demo.resolve("stage1/ax_t2_points.safetensors"), dir.resolve("w.safetensors"));
        Files.writeString(manifest, """
                {"format": "lumbar-ensemble/1", "conditions": {"spinal_canal_stenosis": {
                  "members": [{"model": "card.model.json", "view": "SAG_T2",
                    "bag": {"slices": 5, "channels": 3, "size": [48, 48],
                            "crop": {"left": 8, "right": 8, "up": 8, "down": 8}}}]}}}
                """);
        result = lumbar("check", manifest.toString());
        assertEquals(Main.BAD_INPUT, result.exit());
        assertTrue(result.err().contains("card.model.json"), result.err());
    }

    @Test
    void weightsHoldingNaNAreInvalidWithOrWithoutTheirCard() throws Exception {
        Path card = fixtureCard();
        Path file = dir.resolve("convnext_atto_tiny.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (Safetensors original = Safetensors.open(file)) {
            for (String name : original.names()) {
                tensors.put(name, original.f32(name));
            }
        }
        tensors.get("stem.0.weight").setFloat(7, Float.NaN);
        Safetensors.write(file, tensors, Map.of());
        tensors.values().forEach(Tensor::close);

        CommandRun result = lumbar("check", card.toString());
        assertEquals(Main.BAD_INPUT, result.exit(), result.out());
        assertTrue(result.err().contains(file + ": weights do not match"), result.err());
        assertTrue(result.err().contains("stem.0.weight expected finite values, found 1 NaN or"
                + " infinite"), result.err());

        result = lumbar("check", file.toString());
        assertEquals(Main.BAD_INPUT, result.exit(), result.out());
        assertTrue(result.err().contains(file + ": 1 tensor no network can run:"
                + " stem.0.weight expected finite values, found 1 NaN or infinite"),
                result.err());

        // a negative variance and an F64 tensor, checked without a card, as a card would
        Map<String, Tensor> other = new LinkedHashMap<>();
        other.put("bn1.running_var", Tensor.of(new float[] {1, -0.5f, 2}, 3));
        other.put("bn1.num_batches_tracked", Tensor.allocate(DType.I64, 1));
        other.put("head.weight", Tensor.allocate(DType.F64, 2, 2));
        Path bare = dir.resolve("bare.safetensors");
        Safetensors.write(bare, other, Map.of());
        result = lumbar("check", bare.toString());
        assertEquals(Main.BAD_INPUT, result.exit(), result.out());
        assertTrue(result.err().contains(bare + ": 2 tensors no network can run:"
                + " bn1.running_var expected variances of zero or more, found 1 negative;"
                + " head.weight expected F32, F16 or BF16, found F64"), result.err());
    }

    @Test
    void exitsWithInvalidInputAndNamesTheFile() throws Exception {
        Path broken = dir.resolve("broken.safetensors");
        Files.write(broken, new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        Path good = weights();
        CommandRun result = lumbar("check", broken.toString(), good.toString());
        assertEquals(Main.BAD_INPUT, result.exit());
        assertTrue(result.err().contains(broken.toString()), result.err());
        assertTrue(result.out().contains(good.toString()), "later files are still described");
        assertEquals(2, lumbar("check").exit(), "a missing FILE is a usage error");
    }

    @Test
    void helpListsTheInternalErrorExitCode() {
        String help = CommandRun.lumbar("check", "--help").out().replaceAll("\\s+", " ");
        assertTrue(help.contains("1 an internal error"), help);
    }
}
