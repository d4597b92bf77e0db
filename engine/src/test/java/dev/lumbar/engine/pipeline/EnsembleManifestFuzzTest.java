package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.ScratchFile;
import dev.lumbar.engine.spine.Condition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Coverage-guided fuzzing of the ensemble-manifest parser (lumbar-ensemble/1). The scratch folder
 * holds empty files under the demo manifest's model names, so mutations of a valid manifest get
 * past the existence checks into the member and bag checks. Replays
 * {@code EnsembleManifestFuzzTestInputs} without {@code JAZZER_FUZZ=1}.
 */
class EnsembleManifestFuzzTest {

    private static final ScratchFile SCRATCH = withModelFiles(
            ScratchFile.named("fuzz.ensemble.json"));

    /** A manifest is read with a plan for every condition, or refused naming the file. */
    @FuzzTest(maxDuration = "5m")
    void readsOrRefuses(byte[] input) {
        Path file = SCRATCH.holding(input);
        EnsembleManifest manifest;
        try {
            manifest = EnsembleManifest.read(file);
        } catch (ManifestException refused) {
            assertTrue(refused.getMessage().contains(file.getFileName().toString()),
                    () -> "error does not name the file: " + refused.getMessage());
            return;
        }
        for (Condition condition : Condition.ALL) {
            manifest.plan(condition);
        }
    }

    private static ScratchFile withModelFiles(ScratchFile scratch) {
        Path folder = scratch.path().getParent();
        List<String> names = List.of("stage1/ax_t2_points.model.json",
                "stage1/sag_t1_points.model.json", "stage1/sag_t1_slices.model.json",
                "stage1/sag_t2_points.model.json", "stage1/sag_t2_slices.model.json",
                "stage2/foraminal_effnet_mil.model.json",
                "stage2/spinal_axial_effnet_pool.model.json",
                "stage2/spinal_convnext_mil.model.json",
                "stage2/subarticular_convnext_pool.model.json", "train_label_counts.csv");
        try {
            for (String name : names) {
                Path model = folder.resolve(name);
                Files.createDirectories(model.getParent());
                Files.write(model, new byte[0]);
                model.toFile().deleteOnExit();
                model.getParent().toFile().deleteOnExit();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return scratch;
    }
}
