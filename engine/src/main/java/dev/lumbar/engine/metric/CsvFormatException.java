package dev.lumbar.engine.metric;

import java.nio.file.Path;

/** A CSV file that cannot be read as what it should be; the message names file and line. */
public final class CsvFormatException extends RuntimeException {

    private final Path file;
    private final long line;

    public CsvFormatException(Path file, long line, String problem) {
        super(file + (line > 0 ? ":" + line : "") + ": " + problem);
        this.file = file;
        this.line = line;
    }

    public Path file() {
        return file;
    }

    /** 1-based line number, or 0 when the problem is the file as a whole. */
    public long line() {
        return line;
    }
}
