package dev.lumbar.engine.model;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.ScratchFile;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the model-card parser (lumbar-model/1) over arbitrary bytes, so both
 * the JSON layer and the card's own field checks see malformed input. Replays
 * {@code ModelCardFuzzTestInputs} without {@code JAZZER_FUZZ=1}.
 */
class ModelCardFuzzTest {

    private static final ScratchFile SCRATCH = ScratchFile.named("fuzz.model.json");

    /** A card loads with every field within its documented range, or it is refused. */
    @FuzzTest(maxDuration = "5m")
    void loadsOrRefuses(byte[] input) {
        Path file = SCRATCH.holding(input);
        ModelCard card;
        try {
            card = ModelCard.load(file);
        } catch (IOException refused) {
            return;
        }
        ModelCard.Input in = card.input();
        if (in.slices() < 1 || in.channels() < 1 || in.height() < 1 || in.width() < 1
                || card.backbone().inChans() != in.channels()) {
            throw new AssertionError("accepted a card with impossible input sizes: " + in);
        }
        card.toString();
        card.ignores("encoder.stem.0.weight");
        card.input().normalizeMode();
        card.headType();
    }
}
