package dev.lumbar.engine.io;

/**
 * Malformed JSON text, or a value that JSON cannot represent. For a parse error,
 * {@link #line()} and {@link #column()} (both 1-based) say where the text went wrong; they are
 * 0 for a write error.
 */
public final class JsonException extends IllegalArgumentException {

    private final int line;
    private final int column;

    public JsonException(String message, int line, int column) {
        super(line > 0 ? message + " at line " + line + ", column " + column : message);
        this.line = line;
        this.column = column;
    }

    public JsonException(String message) {
        this(message, 0, 0);
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }
}
