package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckCommandTest {

    @TempDir
    Path dir;

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Result(exit, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private Path weights() throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("encoder.stem.0.weight", Tensor.allocate(DType.BF16, 16, 3, 4, 4));
        tensors.put("fc.weight", Tensor.of(new float[6], 3, 2));
        Path file = dir.resolve("demo-spinal-convnext.safetensors");
        Safetensors.write(file, tensors, Map.of("format", "pt"));
        return file;
    }

    @Test
    void describesWeightsCardsAndArrays() throws Exception {
        Path weights = weights();
        Path card = Files.writeString(dir.resolve("demo.model.json"), """
                {"format": "lumbar-model/1", "name": "demo-spinal-convnext",
                 "weights": "demo-spinal-convnext.safetensors",
                 "backbone": {"arch": "convnext_atto", "in_chans": 3, "prefix": "encoder."},
                 "head": {"type": "mil_bilstm", "num_classes": 3},
                 "input": {"slices": 5, "channels": 3, "height": 64, "width": 64,
                           "normalize": {"mode": "minmax"}}}
                """);
        Path array = dir.resolve("probs.npy");
        Npy.write(array, Tensor.of(new float[] {0.25f, 0.5f, 0.25f}, 1, 3));

        Result result = run("check", "--tensors", weights.toString(), card.toString(),
                array.toString());
        assertEquals(0, result.exit(), result.err());
        assertTrue(result.out().contains(weights + ": safetensors, 2 tensors {F32=1, BF16=1}, "
                + "774 elements"), result.out());
        assertTrue(result.out().contains("metadata format = pt"), result.out());
        assertTrue(result.out().contains("encoder.stem.0.weight BF16 [16, 3, 4, 4]"),
                result.out());
        assertTrue(result.out().contains("'demo-spinal-convnext'"), result.out());
        assertTrue(result.out().contains("input 5 slices x 3 x 64 x 64"), result.out());
        assertTrue(result.out().contains("npy F32 [1, 3], min 0.25, max 0.5, mean "),
                result.out());
    }

    @Test
    void exitsWithInvalidInputAndNamesTheFile() throws Exception {
        Path broken = dir.resolve("broken.safetensors");
        Files.write(broken, new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        Path good = weights();
        Result result = run("check", broken.toString(), good.toString());
        assertEquals(CheckCommand.INVALID_INPUT, result.exit());
        assertTrue(result.err().contains(broken.toString()), result.err());
        assertTrue(result.out().contains(good.toString()), "later files are still described");
        assertEquals(2, run("check").exit(), "a missing FILE is a usage error");
    }
}
