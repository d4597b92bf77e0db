package dev.lumbar.engine.metric;

import dev.lumbar.engine.io.Csv;
import dev.lumbar.engine.spine.Severity;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Submitted probabilities, read from a Kaggle submission CSV
 * ({@code row_id,normal_mild,moderate,severe}; columns may come in any order). Values are kept
 * exactly as submitted: finite and non-negative, not necessarily summing to 1.
 */
public final class Submission {

    private final Map<String, double[]> rows;

    private Submission(Map<String, double[]> rows) {
        this.rows = rows;
    }

    /** A submission from row id → {normal_mild, moderate, severe}. */
    public static Submission of(Map<String, double[]> rows) {
        Map<String, double[]> copy = new HashMap<>();
        rows.forEach((rowId, values) -> copy.put(rowId, values.clone()));
        return new Submission(copy);
    }

    /**
     * Reads a submission CSV.
     *
     * @throws CsvFormatException naming the file and line of the first problem
     */
    public static Submission read(Path file) throws IOException {
        Map<String, double[]> rows = new HashMap<>();
        int[] column = new int[1 + Severity.ALL.size()];
        CsvLines.read(file, header -> locateColumns(file, header, column), (fields, line) -> {
            String rowId = fields.get(column[0]);
            if (Target.parseRowId(rowId).isEmpty()) {
                throw new CsvFormatException(file, line, "row_id '" + rowId + "' is not"
                        + " {study_id}_{condition}_{level}");
            }
            double[] values = new double[Severity.ALL.size()];
            for (Severity severity : Severity.ALL) {
                String cell = fields.get(column[1 + severity.ordinal()]);
                double value;
                try {
                    // Java's own forms (0x1p-1, 0.5d) are refused: the host's reader refuses them
                    if (!Csv.isDecimal(cell.strip())) {
                        throw new NumberFormatException();
                    }
                    value = Double.parseDouble(cell);
                } catch (NumberFormatException e) {
                    throw new CsvFormatException(file, line, severity.kaggleName() + " '" + cell
                            + "' is not a number");
                }
                if (!Double.isFinite(value) || value < 0) {
                    throw new CsvFormatException(file, line, severity.kaggleName() + " is "
                            + cell + "; probabilities must be finite and not negative");
                }
                values[severity.ordinal()] = value;
            }
            if (rows.putIfAbsent(rowId, values) != null) {
                throw new CsvFormatException(file, line, "row_id '" + rowId
                        + "' appears a second time");
            }
        });
        return new Submission(rows);
    }

    private static void locateColumns(Path file, List<String> header, int[] column) {
        String[] wanted = {"row_id", "normal_mild", "moderate", "severe"};
        for (int i = 0; i < wanted.length; i++) {
            column[i] = header.indexOf(wanted[i]);
            if (column[i] < 0) {
                throw new CsvFormatException(file, 1, "no '" + wanted[i] + "' column; a"
                        + " submission's header is row_id,normal_mild,moderate,severe");
            }
        }
    }

    /** The submitted {normal_mild, moderate, severe} of a row, empty when not submitted. */
    public Optional<double[]> row(String rowId) {
        double[] values = rows.get(rowId);
        return values == null ? Optional.empty() : Optional.of(values.clone());
    }

    public int rowCount() {
        return rows.size();
    }
}
