package dev.lumbar.engine.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One file per fuzz target that each input is written to before the reader under test opens it:
 * the readers take paths, and a fresh temporary file per input would cost more than the parse.
 */
public final class ScratchFile {

    private final Path file;

    private ScratchFile(Path file) {
        this.file = file;
    }

    /** A scratch file named {@code fileName} in a new temporary folder, removed at JVM exit. */
    public static ScratchFile named(String fileName) {
        try {
            Path dir = Files.createTempDirectory("lumbar-fuzz-");
            dir.toFile().deleteOnExit();
            Path file = dir.resolve(fileName);
            file.toFile().deleteOnExit();
            return new ScratchFile(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a scratch folder for fuzzing", e);
        }
    }

    /** Replaces the file's content with {@code bytes} and returns its path. */
    public Path holding(byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the scratch file " + file, e);
        }
    }

    public Path path() {
        return file;
    }
}
