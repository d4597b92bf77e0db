package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.io.Csv;
import dev.lumbar.engine.io.TextFiles;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.StudyScanner;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Target points given in a file with the columns of Kaggle's
 * {@code train_label_coordinates.csv}: {@code study_id,series_id,instance_number,condition,
 * level,x,y}. They replace the stage-1 models for the targets they name.
 *
 * <p>A row whose x or y is not finite ({@code NaN}, {@code inf}, {@code -Infinity}, or too large
 * for a double) is kept here and refused, with a warning naming the file and line, when its
 * study is located ({@code Localiser}), as is a row whose point lies outside its image or on a
 * series of another type than its condition is located on; its target then falls back to
 * stage 1 or the label priors. Of several usable rows for one target the first wins; a later
 * one that disagrees is warned about and ignored. A row that cannot be read at all (an unknown
 * condition or level, a cell that is no number) stops the reading, naming its file and line.
 */
public final class GivenCoordinates {

    /**
     * One given point: a target on slice {@code instance} of series {@code seriesId} (the name
     * the series is shown by, {@link StudyScanner#seriesName} of the file's series_id).
     *
     * @param source where the row came from ({@code file: line N}), for warnings
     */
    public record Point(String seriesId, int instance, Target target, double x, double y,
            String source) {

        /** A point given by a program rather than a file. */
        public Point(String seriesId, int instance, Target target, double x, double y) {
            this(seriesId, instance, target, x, y, "given point");
        }

        boolean sameAs(Point other) {
            return seriesId.equals(other.seriesId) && instance == other.instance
                    && Double.compare(x, other.x) == 0 && Double.compare(y, other.y) == 0;
        }
    }

    private final Map<String, List<Point>> byStudy;

    private GivenCoordinates(Map<String, List<Point>> byStudy) {
        this.byStudy = byStudy;
    }

    public static GivenCoordinates none() {
        return new GivenCoordinates(Map.of());
    }

    public static GivenCoordinates read(Path file) throws IOException {
        return parse(file, TextFiles.read(file, "the coordinates file"));
    }

    /**
     * The points of {@code content}, the bytes of {@code file} as read once (and hashed) by the
     * caller; {@code file} names it in errors and warnings.
     */
    public static GivenCoordinates parse(Path file, byte[] content) {
        List<String> lines;
        try {
            lines = TextFiles.lines(content);
        } catch (CharacterCodingException e) {
            // The decoder's own message ("Input length = 1") does not name the file.
            throw new IllegalArgumentException(file + ": not valid UTF-8 text");
        }
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(file + ": empty; expected the header"
                    + " study_id,series_id,instance_number,condition,level,x,y");
        }
        List<String> header = Csv.fields(Csv.withoutBom(lines.getFirst()));
        int[] column = new int[7];
        String[] names = {"study_id", "series_id", "instance_number", "condition", "level", "x",
            "y"};
        for (int i = 0; i < names.length; i++) {
            column[i] = header.indexOf(names[i]);
            if (column[i] >= 0 && header.lastIndexOf(names[i]) != column[i]) {
                throw new IllegalArgumentException(file + ": column '" + names[i] + "' appears"
                        + " twice in the header; keep one");
            }
            if (column[i] < 0) {
                throw new IllegalArgumentException(file + ": no column '" + names[i]
                        + "'; expected study_id,series_id,instance_number,condition,level,x,y");
            }
        }
        Map<String, List<Point>> byStudy = new LinkedHashMap<>();
        for (int n = 1; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] cells = Csv.fields(line).toArray(String[]::new);
            String source = file + ": line " + (n + 1);
            String where = source + ": ";
            if (cells.length < header.size()) {
                throw new IllegalArgumentException(where + "expected " + header.size()
                        + " cells, got " + cells.length);
            }
            Condition condition = Condition.fromLabel(cells[column[3]])
                    .or(() -> Condition.fromKaggleName(cells[column[3]].strip()))
                    .orElseThrow(() -> new IllegalArgumentException(where + "unknown condition '"
                            + shown(cells[column[3]]) + "'"));
            Level level = Level.fromLabel(cells[column[4]])
                    .or(() -> Level.fromKaggleName(cells[column[4]].strip()))
                    .orElseThrow(() -> new IllegalArgumentException(where + "unknown level '"
                            + shown(cells[column[4]]) + "'"));
            try {
                // the series as the scanner shows it: a UID-named folder is found masked
                Point point = new Point(StudyScanner.seriesName(cells[column[1]].strip()),
                        instance(cells[column[2]]),
                        new Target(condition, level), coordinate(cells[column[5]]),
                        coordinate(cells[column[6]]), source);
                byStudy.computeIfAbsent(cells[column[0]].strip(), k -> new ArrayList<>())
                        .add(point);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + "instance_number, x and y must be"
                        + " numbers");
            }
        }
        return new GivenCoordinates(byStudy);
    }

    /**
     * A coordinate cell as a number: a plain decimal (sign, digits, point, exponent), as CSV
     * readers elsewhere take it, not Java's other spellings ({@code 0x1p4}, {@code 1.5f});
     * and the non-finite values as Python and pandas write them ({@code nan}, {@code inf},
     * {@code -inf}), so that every non-finite value is refused the same way, row by row.
     */
    private static double coordinate(String cell) {
        String text = cell.strip().toLowerCase(Locale.ROOT);
        String unsigned = text.startsWith("-") || text.startsWith("+") ? text.substring(1) : text;
        if (unsigned.equals("nan")) {
            return Double.NaN;
        }
        if (unsigned.equals("inf") || unsigned.equals("infinity")) {
            return text.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (!Csv.isDecimal(text)) {
            throw new NumberFormatException("not a decimal number");
        }
        return Double.parseDouble(text);
    }

    /**
     * An instance-number cell as a number: ASCII digits with an optional sign, as for the
     * coordinates (Java alone would also read other scripts' digits).
     */
    private static int instance(String cell) {
        String text = cell.strip();
        if (!INTEGER.matcher(text).matches()) {
            throw new NumberFormatException("not a whole number");
        }
        return Integer.parseInt(text);
    }

    private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]+");

    /** The points given for the study in folder {@code studyFolder} ({@code Study.folder()}). */
    public List<Point> forStudy(String studyFolder) {
        return byStudy.getOrDefault(studyFolder, List.of());
    }

    /**
     * A cell echoed in an error, as it may be shown: a cell where a condition or level
     * belongs can hold anything, a UID or a person's name among it.
     */
    private static String shown(String cell) {
        return Redaction.printable(Redaction.freeText(cell));
    }

    /** The study folders the file gives points for. */
    public Set<String> studies() {
        return Collections.unmodifiableSet(byStudy.keySet());
    }

    public boolean isEmpty() {
        return byStudy.isEmpty();
    }
}
