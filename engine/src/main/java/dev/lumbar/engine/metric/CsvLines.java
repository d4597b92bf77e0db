package dev.lumbar.engine.metric;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The plain comma-separated files Kaggle ships: no field holds a comma, a quote or a line
 * break, so a line is split on commas. Surrounding double quotes on a field are dropped, a
 * byte-order mark and CR line ends are tolerated, blank lines are skipped.
 */
final class CsvLines {

    private CsvLines() {
    }

    /** Receives one data row: its fields and its 1-based line number. */
    @FunctionalInterface
    interface RowReader {
        void accept(List<String> fields, long line);
    }

    /**
     * Reads {@code file}, giving its header fields to {@code header} first and then each data
     * row to {@code row}; both may throw {@link CsvFormatException}.
     */
    static void read(Path file, Consumer<List<String>> header, RowReader row)
            throws IOException {
        try {
            readLines(file, header, row);
        } catch (CharacterCodingException e) {
            // The decoder's own message ("Input length = 1") does not name the file. No line
            // either: the reader decodes ahead in blocks, so the line it was on is not known.
            throw new CsvFormatException(file, 0, "not UTF-8 text; save the CSV as UTF-8");
        }
    }

    private static void readLines(Path file, Consumer<List<String>> header, RowReader row)
            throws IOException {
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String headerLine = reader.readLine();
            if (headerLine == null) {
                throw new CsvFormatException(file, 0, "the file is empty; expected a header line");
            }
            if (headerLine.startsWith("\uFEFF")) {
                headerLine = headerLine.substring(1);
            }
            List<String> columns = split(headerLine);
            header.accept(columns);
            long lineNumber = 1;
            String line;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                List<String> fields = split(line);
                if (fields.size() != columns.size()) {
                    throw new CsvFormatException(file, lineNumber, "expected " + columns.size()
                            + " fields as in the header, found " + fields.size());
                }
                row.accept(fields, lineNumber);
            }
        }
    }

    // LIMITATION: RFC 4180 quoting (a comma or line break inside quotes) is not understood;
    // such a line fails with a field-count error naming file and line instead.
    static List<String> split(String line) {
        List<String> fields = new ArrayList<>();
        int start = 0;
        while (true) {
            int comma = line.indexOf(',', start);
            String field = (comma < 0 ? line.substring(start) : line.substring(start, comma))
                    .strip();
            if (field.length() >= 2 && field.startsWith("\"") && field.endsWith("\"")) {
                field = field.substring(1, field.length() - 1);
            }
            fields.add(field);
            if (comma < 0) {
                return fields;
            }
            start = comma + 1;
        }
    }
}
