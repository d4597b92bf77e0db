package dev.lumbar.engine.metric;

import dev.lumbar.engine.io.Csv;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads a CSV file with a header line, split as {@link Csv} splits lines; every data row must
 * have as many fields as the header. A byte-order mark and CR line ends are tolerated, blank
 * lines are skipped. A column named twice is refused: which of the two is meant cannot be told.
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
            List<String> columns = Csv.fields(Csv.withoutBom(headerLine));
            requireDistinct(file, columns);
            header.accept(columns);
            long lineNumber = 1;
            String line;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                List<String> fields = Csv.fields(line);
                if (fields.size() != columns.size()) {
                    throw new CsvFormatException(file, lineNumber, "expected " + columns.size()
                            + " fields as in the header, found " + fields.size());
                }
                row.accept(fields, lineNumber);
            }
        }
    }

    /**
     * Refuses a header naming a column twice. Unnamed columns (the trailing commas some
     * spreadsheet programs write) are not names and may repeat.
     */
    private static void requireDistinct(Path file, List<String> columns) {
        Set<String> seen = new HashSet<>();
        for (String column : columns) {
            if (!column.isEmpty() && !seen.add(column)) {
                throw new CsvFormatException(file, 1, "column '" + column + "' appears twice in"
                        + " the header; keep one");
            }
        }
    }
}
