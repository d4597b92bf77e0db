package dev.lumbar.engine.model;

import java.io.IOException;
import java.nio.file.Path;

/** A model card that cannot be used; the message names the card and the field at fault. */
public final class ModelCardException extends IOException {

    private final Path card;

    public ModelCardException(Path card, String problem) {
        super(card + ": " + problem);
        this.card = card;
    }

    public Path card() {
        return card;
    }
}
