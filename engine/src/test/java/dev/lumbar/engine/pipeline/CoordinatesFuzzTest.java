package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.Refusals;
import dev.lumbar.engine.fuzz.ScratchFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** Found by fuzzing: a byte that is not UTF-8 was refused as "Input length = 1". */
    @Test
    void textThatIsNotUtf8IsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        Path file = Files.write(dir.resolve("latin1-coordinates.csv"),
                "study_id,series_id,instance_number,condition,level,x,y\n1,2,3,Spinal\u00e9\n"
                        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GivenCoordinates.read(file));
        assertTrue(e.getMessage().contains("latin1-coordinates.csv: not valid UTF-8"),
                e.getMessage());
    }
}
