package dev.lumbar.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.JsonException;
import dev.lumbar.engine.io.Npy;
import dev.lumbar.engine.io.NpyException;
import dev.lumbar.engine.io.Safetensors;
import dev.lumbar.engine.io.SafetensorsException;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The limits themselves, and those of the JSON, npy and safetensors readers and of models. */
class LimitsTest {

    @TempDir
    Path dir;

    @AfterEach
    void restoreDefaults() {
        for (String name : new String[] {"textFileBytes", "jsonNestingDepth", "npyHeaderBytes",
            "safetensorsHeaderBytes", "memoryPercent", "slicesPerSeries"}) {
            System.clearProperty("lumbar.limit." + name);
        }
        Limits.reload();
    }

    private static Limits with(String name, String value) {
        System.setProperty("lumbar.limit." + name, value);
        return Limits.reload();
    }

    @Test
    void defaultsHoldWithoutProperties() {
        assertEquals(Limits.DEFAULTS, Limits.reload());
        assertEquals(1L << 30, Limits.DEFAULTS.dicomFileBytes());
        assertEquals(32, Limits.DEFAULTS.nestingDepth());
        assertEquals(Json.MAX_DEPTH, Limits.DEFAULTS.jsonNestingDepth());
    }

    @Test
    void aBadPropertyFallsBackToTheDefault() {
        assertEquals(Limits.DEFAULTS.slicesPerSeries(),
                with("slicesPerSeries", "lots").slicesPerSeries());
        assertEquals(Limits.DEFAULTS.slicesPerSeries(),
                with("slicesPerSeries", "-3").slicesPerSeries());
        assertEquals(7, with("slicesPerSeries", " 7 ").slicesPerSeries());
        assertEquals(Integer.MAX_VALUE, with("slicesPerSeries", "3000000000").slicesPerSeries());
    }

    @Test
    void aMisspeltLimitIsNamed() {
        try {
            System.setProperty("lumbar.limit.slicesPerSerie", "10");
            assertEquals(java.util.List.of("slicesPerSerie"), Limits.unknownNames());
            assertEquals(Limits.DEFAULTS, Limits.reload());
            // every limit's own name is known
            System.setProperty("lumbar.limit.memoryPercent", "50");
            System.setProperty("lumbar.limit.dicomFileBytes", "1000");
            assertEquals(java.util.List.of("slicesPerSerie"), Limits.unknownNames());
        } finally {
            System.clearProperty("lumbar.limit.slicesPerSerie");
            System.clearProperty("lumbar.limit.dicomFileBytes");
        }
        assertTrue(Limits.unknownNames().isEmpty());
    }

    @Test
    void refusesImpossibleLimits() {
        assertThrows(IllegalArgumentException.class, () -> new Limits(0, 1, 1, 1, 1, 1, 1, 1, 1,
                1, 1, 50));
        assertThrows(IllegalArgumentException.class, () -> new Limits(1, 1, 1, 1, 1, 1, 1, 1, 1,
                1, 1, 101));
    }

    @Test
    void jsonFileOverTheTextLimitIsRefusedBeforeReading() throws Exception {
        Path card = Files.writeString(dir.resolve("big.model.json"), "{\"a\": \"" + "x".repeat(100)
                + "\"}");
        Json.read(card);
        with("textFileBytes", "64");
        LimitExceededException e = assertThrows(LimitExceededException.class,
                () -> Json.read(card));
        assertTrue(e.getMessage().contains("big.model.json"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dlumbar.limit.textFileBytes="), e.getMessage());
    }

    @Test
    void jsonNestingFollowsItsProperty() {
        String eight = "[".repeat(8) + "]".repeat(8);
        Json.parse(eight);
        with("jsonNestingDepth", "4");
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(eight));
        assertTrue(e.getMessage().contains("deeper than 4"), e.getMessage());
    }

    @Test
    void npyHeaderOverTheLimitIsRefused() throws Exception {
        Path file = dir.resolve("a.npy");
        try (Tensor t = Tensor.of(new float[] {1, 2, 3}, 3)) {
            Npy.write(file, t);
        }
        Npy.read(file).close();
        with("npyHeaderBytes", "16");
        NpyException e = assertThrows(NpyException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().contains("a.npy"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dlumbar.limit.npyHeaderBytes="), e.getMessage());
    }

    @Test
    void safetensorsHeaderOverTheLimitIsRefused() throws Exception {
        Path file = dir.resolve("w.safetensors");
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            Safetensors.write(file, Map.of("w", t), Map.of());
        }
        Safetensors.open(file).close();
        with("safetensorsHeaderBytes", "8");
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> Safetensors.open(file));
        assertTrue(e.getMessage().contains("w.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dlumbar.limit.safetensorsHeaderBytes="),
                e.getMessage());
    }

    @Test
    void aModelLargerThanAvailableMemoryIsRefused() throws Exception {
        long available = Limits.availableMemoryBytes().orElseThrow();
        assertTrue(available > 0);
        Limits limits = Limits.current();
        limits.requireMemoryFor("small model", 1 << 20);
        LimitExceededException e = assertThrows(LimitExceededException.class,
                () -> limits.requireMemoryFor("model 'huge'", 2 * available));
        assertTrue(e.getMessage().contains("model 'huge'"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dlumbar.limit.memoryPercent="), e.getMessage());

        // the share is the property's: 1% of what is available refuses a tenth of it
        LimitExceededException tight = assertThrows(LimitExceededException.class,
                () -> with("memoryPercent", "1").requireMemoryFor("m", available / 10));
        assertTrue(tight.getMessage().contains("1% of"), tight.getMessage());

        // an image volume is held to the same share, before it is reserved
        limits.requireMemoryForVolume("7/stack 1", 1 << 20);
        LimitExceededException volume = assertThrows(LimitExceededException.class,
                () -> limits.requireMemoryForVolume("7/stack 1", 2 * available));
        assertTrue(volume.getMessage().startsWith("7/stack 1: its volume needs "),
                volume.getMessage());
    }
}
