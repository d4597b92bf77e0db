package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing of the JSON parser and writer. Without {@code JAZZER_FUZZ=1} the test
 * replays its corpus (the {@code JsonFuzzTestInputs} resources: seeds and past findings).
 */
class JsonFuzzTest {

    /** Any text either parses, and then survives a write and re-parse unchanged, or is refused. */
    @FuzzTest(maxDuration = "5m")
    void parsesOrRefusesAndRoundTrips(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Object value;
        try {
            value = Json.parse(text);
        } catch (JsonException expected) {
            return;
        }
        String written = Json.write(value);
        assertEquals(value, Json.parse(written), "write then parse changed the value");
    }
}
