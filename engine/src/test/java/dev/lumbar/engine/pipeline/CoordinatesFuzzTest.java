package dev.lumbar.engine.pipeline;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.Refusals;
import dev.lumbar.engine.fuzz.ScratchFile;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the {@code --coordinates} reader ({@code label_coordinates.csv}).
 * Replays {@code CoordinatesFuzzTestInputs} without {@code JAZZER_FUZZ=1}.
 */
class CoordinatesFuzzTest {

    private static final ScratchFile SCRATCH = ScratchFile.named("fuzz-coordinates.csv");

    /** A file is read, or refused with an error that names it. */
    @FuzzTest(maxDuration = "5m")
    void readsOrRefuses(byte[] input) {
        Path file = SCRATCH.holding(input);
        try {
            GivenCoordinates.read(file).isEmpty();
        } catch (IOException | IllegalArgumentException refused) {
            Refusals.requireNamesFile(refused, file);
        }
    }
}
