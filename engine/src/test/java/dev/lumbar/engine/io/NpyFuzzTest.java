package dev.lumbar.engine.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.ScratchFile;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;

/**
 * Coverage-guided fuzzing of the .npy reader: preamble, header dictionary, shape arithmetic and
 * the data read. Replays {@code NpyFuzzTestInputs} without {@code JAZZER_FUZZ=1}.
 */
class NpyFuzzTest {

    private static final ScratchFile SCRATCH = ScratchFile.named("fuzz.npy");

    /** A file reads as an F32 tensor whose size matches its shape, or it is refused. */
    @FuzzTest(maxDuration = "5m")
    void readsOrRefuses(byte[] input) {
        try (Tensor array = Npy.read(SCRATCH.holding(input))) {
            if (array.segment().byteSize() != 4 * Tensor.numel(array.shape())) {
                throw new AssertionError("tensor bytes do not match its shape");
            }
        } catch (IOException refused) {
            // NpyException: the input was refused with a message naming the file.
        }
    }
}
