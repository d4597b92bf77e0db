package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrtProfileTest {

    @TempDir
    Path dir;

    /** One node event as ONNX Runtime writes it: times in microseconds. */
    private static String node(String name, String op, long ts, long dur, String inputs,
            String output) {
        return "{\"cat\":\"Node\",\"name\":\"" + name + "_kernel_time\",\"ts\":" + ts
                + ",\"dur\":" + dur + ",\"args\":{\"op_name\":\"" + op
                + "\",\"input_type_shape\":[" + inputs + "],\"output_type_shape\":[{\"float\":"
                + output + "}]}}";
    }

    private static String run(long ts, long dur) {
        return "{\"cat\":\"Session\",\"name\":\"model_run\",\"ts\":" + ts + ",\"dur\":" + dur
                + "}";
    }

    @Test
    void keepsOnlyTheLastRunAndClassesConvolutionsByTheirWeights() throws IOException {
        String depthwise = "{\"float\":[1,32,8,8]},{\"float\":[32,1,3,3]},{\"float\":[32]}";
        String strided = "{\"float\":[1,3,16,16]},{\"float\":[8,3,3,3]}";
        Path profile = dir.resolve("profile.json");
        Files.writeString(profile, "[" + String.join(",",
                run(0, 100),
                node("warm", "Conv", 10, 50, depthwise, "[1,32,8,8]"),
                run(200, 100),
                node("dw", "Conv", 210, 4, depthwise, "[1,32,8,8]"),
                node("fence", "Conv", 215, 0, depthwise, "[1,32,8,8]")
                        .replace("_kernel_time", "_fence_before"),
                node("stem", "FusedConv", 220, 6, strided, "[1,8,8,8]"),
                node("fc", "MatMul", 230, 10, "{\"float\":[1,64,96]}", "[1,64,384]"),
                node("act", "QuickGelu", 250, 2, "{\"float\":[1,64,384]}", "[1,64,384]"))
                + "]");

        Map<String, CountingBackend.Tally> tallies = OrtProfile.lastRun(profile, false);

        assertEquals(4, tallies.size(), tallies.keySet().toString());
        CountingBackend.Tally dw = tallies.get("Conv: conv depthwise 3x3");
        assertEquals(1, dw.calls, "the warm-up run's node is not counted");
        assertEquals(4_000, dw.nanos);
        assertEquals(2.0 * 32 * 8 * 8 * 9, dw.flops);
        CountingBackend.Tally stem = tallies.get("FusedConv: conv dense 3x3 strided");
        assertEquals(2.0 * 8 * 8 * 8 * 27, stem.flops);
        assertEquals(2.0 * 64 * 384 * 96, tallies.get("MatMul").flops,
                "a matrix product's K is its activation's last dimension");
        assertEquals(0.0, tallies.get("QuickGelu").flops);

        Map<String, CountingBackend.Tally> byShape = OrtProfile.lastRun(profile, true);
        assertEquals(1, byShape.get("Conv: conv depthwise 3x3 [1, 32, 8, 8] -> 32").calls);
    }

    @Test
    void aProfileWithoutARunIsRefusedNamingTheFile() throws IOException {
        Path profile = dir.resolve("empty.json");
        Files.writeString(profile, "[]");
        IOException e = assertThrows(IOException.class, () -> OrtProfile.lastRun(profile,
                false));
        assertEquals(profile + ": the profile holds no model_run event", e.getMessage());
    }
}
