package dev.lumbar.engine.report;

import dev.lumbar.engine.io.AtomicFile;
import dev.lumbar.engine.spine.Severity;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes the Kaggle submission CSV, {@code row_id,normal_mild,moderate,severe}, 25 rows per
 * study in {@link Target#submissionOrder()} (the order of {@code sample_submission.csv}),
 * studies in the order they were appended.
 *
 * <p>Each {@link #append} adds the study's rows to a journal, {@code <file>.partial}, with one
 * write and a forced flush; {@link #close()} writes the complete file atomically and removes
 * the journal. After a crash the journal holds every finished study (a torn last study is
 * dropped when read), is itself a valid partial submission, and {@link #resume} continues from
 * it (and not from the file, which may hold an earlier batch). {@link #abandon()} stops the
 * same way on purpose. The file itself is only ever replaced
 * by that atomic write, so no failure or crash leaves it truncated. Thread-safe: studies
 * finishing on different threads may append concurrently.
 */
public final class SubmissionWriter implements AutoCloseable {

    /** The header line of every submission. */
    public static final String HEADER = "row_id,normal_mild,moderate,severe";

    /** How far a row's probabilities may sum from 1 before it is refused. */
    public static final double SUM_TOLERANCE = 1e-3;

    private final Path file;
    private final Path journal;
    private final Map<String, String> rowsByStudy = new LinkedHashMap<>();
    private FileChannel journalChannel;
    private Path resumedFrom;
    private int incompleteStudies;

    private SubmissionWriter(Path file) {
        this.file = file.toAbsolutePath();
        this.journal = this.file.resolveSibling(this.file.getFileName() + ".partial");
    }

    /** A writer that starts empty; any earlier file and journal are replaced. */
    public static SubmissionWriter create(Path file) throws IOException {
        SubmissionWriter writer = new SubmissionWriter(file);
        writer.openJournal();
        return writer;
    }

    /**
     * A writer that keeps the complete studies of the latest run, for rerunning an interrupted
     * batch or adding studies to a finished one; {@link #completedStudies()} says what to skip.
     * The latest run is the journal where there is one: every run starts its journal afresh
     * (a resumed one with the studies it keeps) and removes it when it writes the file, so a
     * journal is always newer than the file beside it, which may hold an earlier batch graded
     * by other weights. Without a journal it is the file.
     */
    public static SubmissionWriter resume(Path file) throws IOException {
        SubmissionWriter writer = new SubmissionWriter(file);
        writer.resumedFrom = Files.exists(writer.journal) ? writer.journal : writer.file;
        writer.readComplete(writer.resumedFrom);
        writer.openJournal();
        return writer;
    }

    /**
     * How many studies {@link #resume} found only some of the rows of (a run stopped while
     * writing one, or a file edited by hand): they are not kept, so they are graded again.
     */
    public int incompleteStudies() {
        return incompleteStudies;
    }

    /**
     * The journal, {@code <file>.partial}: every study appended so far, kept when the file
     * cannot be written, for {@link #resume}.
     */
    public Path journal() {
        return journal;
    }

    /** The file {@link #resume} read the kept studies from: the journal or the file. */
    public Path resumedFrom() {
        return resumedFrom;
    }

    /** The studies written so far, in order. */
    public synchronized Set<String> completedStudies() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(rowsByStudy.keySet()));
    }

    /**
     * Adds one study's 25 rows and forces them into the journal.
     *
     * @param studyId       the study's folder name, the prefix of its row ids
     * @param probabilities {@code [25][3]}: per {@link Target#index()}, normal/mild, moderate
     *                      and severe, each finite and in [0, 1], summing to 1 within
     *                      {@link #SUM_TOLERANCE}
     * @throws IllegalArgumentException naming the target whose probabilities are unusable, or
     *                                  when the study was already written
     */
    public synchronized void append(String studyId, double[][] probabilities)
            throws IOException {
        if (journalChannel == null) {
            throw new IllegalStateException("the submission writer is closed");
        }
        if (studyId.isEmpty() || studyId.contains(",") || studyId.contains("\n")) {
            throw new IllegalArgumentException("a study id must be non-empty text without"
                    + " commas or line breaks");
        }
        if (rowsByStudy.containsKey(studyId)) {
            throw new IllegalArgumentException("the submission already holds this study");
        }
        String rows = formatRows(studyId, probabilities);

        ByteBuffer bytes = ByteBuffer.wrap(rows.getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
            journalChannel.write(bytes);
        }
        journalChannel.force(false);
        rowsByStudy.put(studyId, rows);
    }

    /**
     * The probabilities the submission holds for {@code studyId}, by row id without the study's
     * prefix (a target's {@code row_id_suffix} in its report); empty for a study it lacks.
     */
    public synchronized Map<String, double[]> rowsOf(String studyId) {
        String rows = rowsByStudy.get(studyId);
        if (rows == null) {
            return Map.of();
        }
        Map<String, double[]> found = new LinkedHashMap<>();
        for (String line : rows.split("\n")) {
            String[] fields = line.split(",");
            double[] p = new double[fields.length - 1];
            for (int i = 1; i < fields.length; i++) {
                p[i - 1] = Double.parseDouble(fields[i]);
            }
            found.put(fields[0].substring(studyId.length() + 1), p);
        }
        return found;
    }

    /**
     * Drops a study read back by {@link #resume}, so that it can be appended again (its earlier
     * rows stay in the journal until then; a later append's rows win when the journal is read).
     */
    public synchronized void forget(String studyId) {
        rowsByStudy.remove(studyId);
    }

    /**
     * Orders the studies of the final file: those named here in this order, then any others
     * in the order they were written. A resumed batch, whose regraded studies are appended
     * after the kept ones, so keeps its input order.
     */
    public synchronized void orderBy(List<String> studyIds) {
        Map<String, String> ordered = new LinkedHashMap<>();
        for (String id : studyIds) {
            String rows = rowsByStudy.get(id);
            if (rows != null) {
                ordered.put(id, rows);
            }
        }
        rowsByStudy.forEach(ordered::putIfAbsent);
        rowsByStudy.clear();
        rowsByStudy.putAll(ordered);
    }

    /**
     * Stops without writing the submission, for a batch that broke off: the file named at
     * creation keeps whatever it held (an earlier complete submission stays whole), and the
     * journal keeps the studies written so far for {@link #resume}. {@link #close()} then does
     * nothing.
     */
    public synchronized void abandon() throws IOException {
        if (journalChannel == null) {
            return;
        }
        journalChannel.close();
        journalChannel = null;
    }

    /**
     * Writes the complete submission atomically and removes the journal. When the file cannot
     * be written (a read-only folder, a full disk) it throws, and the journal stays whole and
     * open: {@link #abandon()} then closes it, for {@link #resume} to write the file later.
     */
    @Override
    public synchronized void close() throws IOException {
        if (journalChannel == null) {
            return;
        }
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        rowsByStudy.values().forEach(text::append);
        ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFile.write(file, channel -> {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        });
        journalChannel.close();
        journalChannel = null;
        Files.deleteIfExists(journal);
    }

    private static String formatRows(String studyId, double[][] probabilities) {
        if (probabilities.length != Target.COUNT) {
            throw new IllegalArgumentException("a study needs probabilities for "
                    + Target.COUNT + " targets, got " + probabilities.length);
        }
        StringBuilder rows = new StringBuilder();
        for (Target target : Target.submissionOrder()) {
            double[] row = probabilities[target.index()];
            if (row == null || row.length != Severity.ALL.size()) {
                throw new IllegalArgumentException(target.kaggleName() + " needs "
                        + Severity.ALL.size() + " probabilities");
            }
            double sum = 0;
            for (double p : row) {
                if (!(p >= 0 && p <= 1)) {
                    throw new IllegalArgumentException(target.kaggleName() + " has probability "
                            + p + "; probabilities must lie in [0, 1]");
                }
                sum += p;
            }
            if (Math.abs(sum - 1) > SUM_TOLERANCE) {
                throw new IllegalArgumentException(target.kaggleName() + " has probabilities"
                        + " summing to " + sum + ", not 1");
            }
            rows.append(target.rowId(studyId));
            for (double p : row) {
                rows.append(',').append(p);
            }
            rows.append('\n');
        }
        return rows.toString();
    }

    /** Starts the journal with the header and the studies already held. */
    private void openJournal() throws IOException {
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        rowsByStudy.values().forEach(text::append);
        ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFile.write(journal, channel -> {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        });
        // the journal becomes the file: readable by those who may read the file, no others
        if (Files.exists(file) && Files.getFileStore(journal)
                .supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(journal, Files.getPosixFilePermissions(file));
        }
        journalChannel = FileChannel.open(journal, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
    }

    /**
     * Adds every study of {@code source} that has all 25 rows, each well-formed; anything else
     * (a row torn by a crash, a study cut short) is dropped, to be computed again.
     */
    private void readComplete(Path source) throws IOException {
        if (!Files.isRegularFile(source)) {
            return;
        }
        String text;
        try {
            text = Files.readString(source, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new IOException(source + ": not a submission (not UTF-8 text)", e);
        }
        if (text.isBlank()) {
            // an empty file (a run stopped before its first write) holds no study
            return;
        }
        String[] lines = text.split("\n", -1);
        // a byte-order mark, as spreadsheet programs write, is not part of the header
        if (!lines[0].replace("\uFEFF", "").strip().equals(HEADER)) {
            throw new IOException(source + ": not a submission (the first line is not "
                    + HEADER + ")");
        }
        // the last element follows the final line break: empty, or a line a crash cut short
        Map<String, Map<Target, String>> found = new LinkedHashMap<>();
        for (int i = 1; i < lines.length - 1; i++) {
            String[] fields = lines[i].strip().split(",", -1);
            if (fields.length != 4 || !numbers(fields)) {
                continue;
            }
            // kept in this writer's own form (0.50 and 5e-1 both as 0.5), so a resumed
            // submission holds the bytes an uninterrupted run writes
            String values = Double.parseDouble(fields[1]) + "," + Double.parseDouble(fields[2])
                    + "," + Double.parseDouble(fields[3]);
            Target.parseRowId(fields[0]).ifPresent(id -> found
                    .computeIfAbsent(id.studyId(), study -> new LinkedHashMap<>())
                    .put(id.target(), values));
        }
        for (Map.Entry<String, Map<Target, String>> study : found.entrySet()) {
            if (study.getValue().size() != Target.COUNT) {
                incompleteStudies++;
                continue;
            }
            StringBuilder rows = new StringBuilder();
            for (Target target : Target.submissionOrder()) {
                rows.append(target.rowId(study.getKey())).append(',')
                        .append(study.getValue().get(target)).append('\n');
            }
            rowsByStudy.putIfAbsent(study.getKey(), rows.toString());
        }
    }

    /**
     * Whether a row's three cells are probabilities as this writer writes them: plain decimal
     * numbers (no hexadecimal, no type suffix, which other CSV readers refuse) in [0, 1],
     * summing to 1 within {@link #SUM_TOLERANCE}; a row edited into anything else is not kept.
     */
    private static boolean numbers(String[] fields) {
        double sum = 0;
        for (int i = 1; i < fields.length; i++) {
            if (!DECIMAL.matcher(fields[i]).matches()) {
                return false;
            }
            double value = Double.parseDouble(fields[i]);
            if (!(value >= 0 && value <= 1)) {
                return false;
            }
            sum += value;
        }
        return Math.abs(sum - 1) <= SUM_TOLERANCE;
    }

    private static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?");
}
