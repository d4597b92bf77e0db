package dev.lumbar.engine.pipeline;

import java.nio.file.Path;

/** An ensemble manifest that cannot be used: the message names the file and the field. */
public final class ManifestException extends IllegalArgumentException {

    public ManifestException(Path file, String field, String problem) {
        super(file + ": " + (field.isEmpty() ? "" : field + ": ") + problem);
    }

    public ManifestException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
