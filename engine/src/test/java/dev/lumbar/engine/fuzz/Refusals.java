package dev.lumbar.engine.fuzz;

import java.nio.file.Path;

/** The check every fuzz target makes of a refusal: the user can tell which file was wrong. */
public final class Refusals {

    private Refusals() {
    }

    /** Fails unless {@code refusal}'s message names {@code file}. */
    public static void requireNamesFile(Exception refusal, Path file) {
        String message = refusal.getMessage();
        if (message == null || !message.contains(file.getFileName().toString())) {
            throw new AssertionError("refusal does not name the file " + file.getFileName()
                    + ": " + refusal, refusal);
        }
    }
}
