package dev.lumbar.engine.io;

import dev.lumbar.engine.LimitExceededException;
import dev.lumbar.engine.Limits;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;

/**
 * A strict JSON (RFC 8259) parser and a deterministic pretty-printing writer.
 *
 * <p>Parsed values are {@link LinkedHashMap} (keys in document order), {@link ArrayList},
 * {@link String}, {@link Long} (integers without fraction or exponent that fit in 64 bits),
 * {@link Double} (every other number), {@link Boolean} and {@code null}.
 *
 * <p>Strict means: no comments, no trailing commas, no leading zeros, no unescaped control
 * characters, no unpaired surrogates, no duplicate keys, no numbers beyond the range of a
 * double, nothing after the value, nesting at most {@link #MAX_DEPTH} deep. Headers of weight
 * files are parsed with this class, so it must fail cleanly on anything.
 *
 * <p>The writer indents by two spaces, keeps the iteration order of ordered maps (a plain
 * {@code HashMap} is written sorted by key so output never depends on hashing), writes arrays
 * holding only numbers, booleans and nulls on one line, and writes doubles in the shortest form
 * that parses back to the same double. NaN and infinities have no JSON form and are rejected.
 */
public final class Json {

    /** Deepest nesting of arrays and objects the parser accepts. */
    public static final int MAX_DEPTH = Limits.DEFAULTS.jsonNestingDepth();

    private Json() {
    }

    /** Parses one JSON value; throws {@link JsonException} with line and column if malformed. */
    public static Object parse(String text) {
        Parser parser = new Parser(text);
        parser.skipWhitespace();
        Object value = parser.value(0);
        parser.skipWhitespace();
        if (!parser.atEnd()) {
            throw parser.error("unexpected text after the JSON value");
        }
        return value;
    }

    /**
     * Reads and parses a UTF-8 JSON file. A leading byte-order mark is skipped. Syntax errors
     * are thrown as {@link JsonException} whose message starts with the file name.
     */
    public static Object read(Path file) throws IOException {
        long size = Files.size(file);
        long limit = Limits.current().textFileBytes();
        if (size > limit) {
            throw new LimitExceededException(file + ": " + Limits.exceeded("file size in bytes",
                    size, limit, "textFileBytes"));
        }
        byte[] bytes = Files.readAllBytes(file);
        String text;
        try {
            text = TextFiles.utf8(bytes);
        } catch (CharacterCodingException e) {
            throw new JsonException(file + ": not valid UTF-8 text");
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        try {
            return parse(text);
        } catch (JsonException e) {
            throw new JsonException(file + ": " + e.getMessage());
        }
    }

    /** Pretty-prints {@code value}; throws {@link JsonException} for values JSON cannot hold. */
    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        writeValue(out, value, 0);
        return out.toString();
    }

    /**
     * Writes {@code value} as pretty JSON (with a final newline) so that readers see either the
     * old file or the complete new one: the text goes to a temporary file in the same folder,
     * is forced to disk, and is then renamed over {@code file}.
     */
    public static void writeAtomically(Path file, Object value) throws IOException {
        writeTextAtomically(file, write(value));
    }

    /**
     * Writes JSON text already rendered by {@link #write} as {@link #writeAtomically} writes a
     * value: with a final newline, replacing {@code file} whole.
     */
    public static void writeTextAtomically(Path file, String json) throws IOException {
        AtomicFile.write(file, (json + "\n").getBytes(StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- writer

    private static void writeValue(StringBuilder out, Object value, int indent) {
        if (indent > MAX_DEPTH) {
            // Also what a map or list that contains itself looks like from here.
            throw new JsonException("value nests deeper than " + MAX_DEPTH + " levels");
        }
        switch (value) {
            case null -> out.append("null");
            case String s -> writeString(out, s);
            case Boolean b -> out.append(b);
            case Long n -> out.append(n);
            case Integer n -> out.append(n);
            case Short n -> out.append(n);
            case Byte n -> out.append(n);
            case Double d -> out.append(finite(d, d.toString()));
            // Float.toString is the shortest text that reads back as the same float.
            case Float f -> out.append(finite(f, f.toString()));
            case Map<?, ?> map -> writeObject(out, map, indent);
            case Collection<?> items -> writeArray(out, new ArrayList<>(items), indent);
            case Object[] items -> writeArray(out, java.util.Arrays.asList(items), indent);
            default -> throw new JsonException("cannot write a " + value.getClass().getName()
                    + " as JSON");
        }
    }

    private static String finite(double d, String text) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new JsonException("JSON has no representation for " + d);
        }
        return text;
    }

    private static void writeObject(StringBuilder out, Map<?, ?> map, int indent) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        Map<?, ?> ordered = map;
        if (!(map instanceof SequencedMap<?, ?>)) {
            TreeMap<String, Object> sorted = new TreeMap<>();
            map.forEach((k, v) -> sorted.put(keyOf(k), v));
            ordered = sorted;
        }
        out.append("{\n");
        boolean first = true;
        for (Map.Entry<?, ?> entry : ordered.entrySet()) {
            if (!first) {
                out.append(",\n");
            }
            first = false;
            pad(out, indent + 1);
            writeString(out, keyOf(entry.getKey()));
            out.append(": ");
            writeValue(out, entry.getValue(), indent + 1);
        }
        out.append('\n');
        pad(out, indent);
        out.append('}');
    }

    private static String keyOf(Object key) {
        if (key instanceof String s) {
            return s;
        }
        throw new JsonException("JSON object keys must be strings, got "
                + (key == null ? "null" : key.getClass().getName()));
    }

    private static void writeArray(StringBuilder out, List<?> items, int indent) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        boolean flat = items.stream().allMatch(v -> v == null || v instanceof Number
                || v instanceof Boolean);
        if (flat) {
            out.append('[');
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    out.append(", ");
                }
                writeValue(out, items.get(i), indent);
            }
            out.append(']');
            return;
        }
        out.append("[\n");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                out.append(",\n");
            }
            pad(out, indent + 1);
            writeValue(out, items.get(i), indent + 1);
        }
        out.append('\n');
        pad(out, indent);
        out.append(']');
    }

    private static void pad(StringBuilder out, int indent) {
        out.repeat("  ", indent);
    }

    private static void writeString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                            && Character.isLowSurrogate(s.charAt(i + 1))) {
                        out.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)) {
                        // Would become invalid UTF-8, and the parser rejects it too.
                        throw new JsonException("string holds an unpaired surrogate at index "
                                + i);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    // ---------------------------------------------------------------- parser

    private static final class Parser {
        private final String text;
        private final int maxDepth = Limits.current().jsonNestingDepth();
        private int pos;

        Parser(String text) {
            this.text = text;
        }

        boolean atEnd() {
            return pos >= text.length();
        }

        void skipWhitespace() {
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    return;
                }
            }
        }

        Object value(int depth) {
            if (atEnd()) {
                throw error("expected a value but the text ended");
            }
            char c = text.charAt(pos);
            return switch (c) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        yield number();
                    }
                    throw error("unexpected character " + describe(c));
                }
            };
        }

        private Map<String, Object> object(int depth) {
            checkDepth(depth);
            pos++;
            Map<String, Object> map = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return map;
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') {
                    throw error("expected a string key");
                }
                int keyStart = pos;
                String key = string();
                if (map.containsKey(key)) {
                    pos = keyStart;
                    throw error("duplicate key \"" + abbreviate(key) + "\"");
                }
                skipWhitespace();
                expect(':');
                skipWhitespace();
                map.put(key, value(depth));
                skipWhitespace();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == '}') {
                    pos++;
                    return map;
                } else {
                    throw error("expected ',' or '}' in an object");
                }
            }
        }

        private List<Object> array(int depth) {
            checkDepth(depth);
            pos++;
            List<Object> list = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipWhitespace();
                list.add(value(depth));
                skipWhitespace();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == ']') {
                    pos++;
                    return list;
                } else {
                    throw error("expected ',' or ']' in an array");
                }
            }
        }

        private void checkDepth(int depth) {
            if (depth > maxDepth) {
                throw error("nesting deeper than " + maxDepth + " levels");
            }
        }

        private String string() {
            pos++;
            StringBuilder out = null;
            int runStart = pos;
            while (true) {
                if (atEnd()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(pos);
                if (c == '"') {
                    String tail = text.substring(runStart, pos++);
                    return out == null ? tail : out.append(tail).toString();
                }
                if (c < 0x20) {
                    throw error("control character " + describe(c) + " inside a string");
                }
                if (Character.isSurrogate(c)) {
                    if (Character.isHighSurrogate(c) && pos + 1 < text.length()
                            && Character.isLowSurrogate(text.charAt(pos + 1))) {
                        pos += 2;
                        continue;
                    }
                    throw error("unpaired surrogate inside a string");
                }
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (out == null) {
                    out = new StringBuilder();
                }
                out.append(text, runStart, pos);
                pos++;
                if (atEnd()) {
                    throw error("unterminated escape");
                }
                char e = text.charAt(pos++);
                switch (e) {
                    case '"' -> out.append('"');
                    case '\\' -> out.append('\\');
                    case '/' -> out.append('/');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'u' -> out.append(unicodeEscape());
                    default -> {
                        pos--;
                        throw error("invalid escape \\" + describe(e));
                    }
                }
                runStart = pos;
            }
        }

        /** The characters of a {@code \\uXXXX} escape (a pair for a surrogate pair). */
        private String unicodeEscape() {
            char first = hex4();
            if (Character.isLowSurrogate(first)) {
                throw error("unpaired surrogate escape");
            }
            if (!Character.isHighSurrogate(first)) {
                return String.valueOf(first);
            }
            if (!text.startsWith("\\u", pos)) {
                throw error("unpaired surrogate escape");
            }
            pos += 2;
            char second = hex4();
            if (!Character.isLowSurrogate(second)) {
                throw error("unpaired surrogate escape");
            }
            return new String(new char[] {first, second});
        }

        private char hex4() {
            if (pos + 4 > text.length()) {
                throw error("truncated \\u escape");
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = hexDigit(text.charAt(pos));
                if (d < 0) {
                    throw error("invalid hex digit in \\u escape");
                }
                v = v * 16 + d;
                pos++;
            }
            return (char) v;
        }

        /** ASCII hex only: Character.digit would also accept other scripts' digits. */
        private static int hexDigit(char c) {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            if (c >= 'A' && c <= 'F') {
                return c - 'A' + 10;
            }
            return -1;
        }

        private Object number() {
            int start = pos;
            boolean integral = true;
            if (peek() == '-') {
                pos++;
            }
            if (peek() == '0') {
                pos++;
                if (isDigit(peek())) {
                    throw error("leading zero in a number");
                }
            } else if (isDigit(peek())) {
                digits();
            } else {
                throw error("expected a digit");
            }
            if (peek() == '.') {
                integral = false;
                pos++;
                if (!isDigit(peek())) {
                    throw error("expected a digit after the decimal point");
                }
                digits();
            }
            if (peek() == 'e' || peek() == 'E') {
                integral = false;
                pos++;
                if (peek() == '+' || peek() == '-') {
                    pos++;
                }
                if (!isDigit(peek())) {
                    throw error("expected a digit in the exponent");
                }
                digits();
            }
            String literal = text.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(literal);
                } catch (NumberFormatException tooLong) {
                    // LIMITATION: an integer beyond 64 bits is kept as the nearest double,
                    // losing digits; no file the engine reads needs such integers.
                }
            }
            double d = Double.parseDouble(literal);
            if (Double.isInfinite(d)) {
                pos = start;
                throw error("number " + abbreviate(literal) + " is beyond the range of a double");
            }
            return d;
        }

        private void digits() {
            while (isDigit(peek())) {
                pos++;
            }
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private Object literal(String word, Object value) {
            if (!text.startsWith(word, pos)) {
                throw error("unexpected character " + describe(text.charAt(pos)));
            }
            pos += word.length();
            return value;
        }

        private void expect(char c) {
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        /** The current character, or NUL at the end (NUL never starts valid JSON here). */
        private char peek() {
            return pos < text.length() ? text.charAt(pos) : '\0';
        }

        JsonException error(String message) {
            int line = 1;
            int column = 1;
            int end = Math.min(pos, text.length());
            for (int i = 0; i < end; i++) {
                if (text.charAt(i) == '\n') {
                    line++;
                    column = 1;
                } else {
                    column++;
                }
            }
            if (pos >= text.length() && !message.contains("ended")) {
                message += " (the text ended)";
            }
            return new JsonException(message, line, column);
        }

        private static String describe(char c) {
            return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
        }

        private static String abbreviate(String s) {
            return s.length() <= 40 ? s : s.substring(0, 37) + "...";
        }
    }
}
