package dev.lumbar.engine.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that breaks the format, or a request it cannot serve. The message names
 * the file and, where one is to blame, the tensor.
 */
public final class SafetensorsException extends IOException {

    private final Path file;
    private final String tensor;

    public SafetensorsException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ": tensor '" + tensor + "'") + ": " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    public SafetensorsException(Path file, String problem) {
        this(file, null, problem);
    }

    public Path file() {
        return file;
    }

    /** The tensor the problem is about, or {@code null} when it concerns the whole file. */
    public String tensor() {
        return tensor;
    }
}
