package dev.lumbar.engine.io;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One line of the comma-separated files Kaggle ships and the engine reads (series
 * descriptions, labels, coordinates, submissions). A field may be wrapped in double quotes,
 * which then group commas and write a literal quote as {@code ""}; fields are stripped of
 * surrounding white space.
 */
public final class Csv {

    private Csv() {
    }

    /** A decimal number as CSV readers elsewhere take it: sign, digits, point, exponent. */
    private static final Pattern DECIMAL = Pattern.compile(
            "[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?");

    /**
     * Whether a cell is a number as CSV readers elsewhere (pandas, spreadsheets) read one:
     * not Java's other spellings ({@code 0x1p-1}, {@code 0.5d}), which they refuse.
     */
    public static boolean isDecimal(String cell) {
        return DECIMAL.matcher(cell).matches();
    }

    /** {@code line} without a leading UTF-8 byte-order mark, which spreadsheet exports add. */
    public static String withoutBom(String line) {
        return line.startsWith("\uFEFF") ? line.substring(1) : line;
    }

    // LIMITATION: a quoted field that spans lines is not joined; the reader sees two short rows
    // and fails with a field-count error naming the file and line.
    /** The fields of one line, unquoted and stripped. */
    public static List<String> fields(String line) {
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    field.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                fields.add(field.toString().strip());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        fields.add(field.toString().strip());
        return fields;
    }
}
