package dev.lumbar.engine.metric;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.Refusals;
import dev.lumbar.engine.fuzz.ScratchFile;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** Found by fuzzing: a byte that is not UTF-8 was refused as "Input length = 1". */
    @Test
    void textThatIsNotUtf8IsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        byte[] latin1 = "study_id,spinal_canal_stenosis_l1_l2\n1,Mild\u00e9\n"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Path labels = Files.write(dir.resolve("latin1-train.csv"), latin1);
        Path submission = Files.write(dir.resolve("latin1-submission.csv"), latin1);

        CsvFormatException e = assertThrows(CsvFormatException.class, () -> Labels.read(labels));
        assertTrue(e.getMessage().contains("latin1-train.csv: not UTF-8 text"), e.getMessage());
        e = assertThrows(CsvFormatException.class, () -> Submission.read(submission));
        assertTrue(e.getMessage().contains("latin1-submission.csv: not UTF-8 text"),
                e.getMessage());
    }
}
