package dev.lumbar.engine.metric;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.Refusals;
import dev.lumbar.engine.fuzz.ScratchFile;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the readers behind {@code lumbar score}: labels ({@code train.csv})
 * and submissions. Replays {@code CsvFuzzTestInputs} without {@code JAZZER_FUZZ=1}.
 */
class CsvFuzzTest {

    private static final ScratchFile LABELS = ScratchFile.named("fuzz-train.csv");
    private static final ScratchFile SUBMISSION = ScratchFile.named("fuzz-submission.csv");

    /** A labels file is read and every label can be looked up, or it is refused by name. */
    @FuzzTest(maxDuration = "5m")
    void readsLabelsOrRefuses(byte[] input) {
        Path file = LABELS.holding(input);
        Labels labels;
        try {
            labels = Labels.read(file);
        } catch (IOException | CsvFormatException refused) {
            Refusals.requireNamesFile(refused, file);
            return;
        }
        for (String study : labels.studies()) {
            for (Target target : Target.ALL) {
                labels.label(study, target);
            }
        }
    }

    /** A submission is read with three finite probabilities a row, or refused by name. */
    @FuzzTest(maxDuration = "5m")
    void readsSubmissionOrRefuses(byte[] input) {
        Path file = SUBMISSION.holding(input);
        try {
            Submission.read(file).rowCount();
        } catch (IOException | CsvFormatException refused) {
            Refusals.requireNamesFile(refused, file);
        }
    }
}
