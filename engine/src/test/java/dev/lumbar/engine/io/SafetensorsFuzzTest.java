package dev.lumbar.engine.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.ScratchFile;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;

/**
 * Coverage-guided fuzzing of the safetensors reader: header JSON, entry checks, tiling, and the
 * F32 widening of every tensor it accepts. Replays {@code SafetensorsFuzzTestInputs} without
 * {@code JAZZER_FUZZ=1}.
 */
class SafetensorsFuzzTest {

    private static final ScratchFile SCRATCH = ScratchFile.named("fuzz.safetensors");

    /** A file opens and every tensor reads as F32, or the open or read is refused. */
    @FuzzTest(maxDuration = "5m")
    void readsEveryTensorOrRefuses(byte[] input) {
        try (Safetensors weights = Safetensors.open(SCRATCH.holding(input))) {
            weights.metadata();
            for (String name : weights.names()) {
                weights.entry(name).byteSize();
                try (Tensor values = weights.f32(name)) {
                    values.shape();
                }
            }
        } catch (IOException refused) {
            // SafetensorsException, or the scratch file vanished: both are refusals.
        }
    }
}
