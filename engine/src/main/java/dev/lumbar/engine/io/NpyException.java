package dev.lumbar.engine.io;

import java.io.IOException;
import java.nio.file.Path;

/** An {@code .npy} file that is malformed or holds what the engine does not read. */
public final class NpyException extends IOException {

    private final Path file;

    public NpyException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
