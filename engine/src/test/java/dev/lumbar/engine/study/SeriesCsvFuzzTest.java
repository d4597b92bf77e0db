package dev.lumbar.engine.study;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.Refusals;
import dev.lumbar.engine.fuzz.ScratchFile;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the {@code --series-csv} reader ({@code series_descriptions.csv}).
 * Replays {@code SeriesCsvFuzzTestInputs} without {@code JAZZER_FUZZ=1}.
 */
class SeriesCsvFuzzTest {

    private static final ScratchFile SCRATCH = ScratchFile.named("fuzz-series.csv");

    /** A file is read, or refused with a StudyException that names it. */
    @FuzzTest(maxDuration = "5m")
    void readsOrRefuses(byte[] input) {
        Path file = SCRATCH.holding(input);
        try {
            SeriesDescriptions.read(file).size();
        } catch (StudyException refused) {
            Refusals.requireNamesFile(refused, file);
        }
    }
}
