package dev.lumbar.cli;

import dev.lumbar.engine.metric.CompetitionMetric;
import dev.lumbar.engine.metric.CsvFormatException;
import dev.lumbar.engine.metric.Labels;
import dev.lumbar.engine.metric.Submission;
import dev.lumbar.engine.spine.Condition;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lumbar score}: the competition metric of a submission against known labels. */
@Command(name = "score",
        mixinStandardHelpOptions = true,
        description = {
            "Scores a submission CSV against labels, as the competition did.",
            "The labels are in Kaggle's train.csv format. Printed: the weighted log loss per",
            "condition group, any_severe_spinal, and their mean. Unlabelled targets are left",
            "out.",
            "",
            "Exit codes: 0 scored; 2 bad usage, an input file missing or malformed (the",
            "message names file and line), or a labelled row missing from the submission."})
public final class ScoreCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-s", "--submission"}, required = true, paramLabel = "FILE",
            description = "submission CSV: row_id,normal_mild,moderate,severe")
    Path submission;

    @Option(names = {"-l", "--labels"}, required = true, paramLabel = "FILE",
            description = "labels CSV in train.csv's wide format (study_id and 25 columns)")
    Path labels;

    @Option(names = "--per-target",
            description = "also print the weighted log loss of each of the 25 targets")
    boolean perTarget;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        Labels truth;
        Submission submitted;
        try {
            truth = Labels.read(requireFile(labels, "labels"));
            submitted = Submission.read(requireFile(submission, "submission"));
        } catch (CsvFormatException e) {
            err.println("lumbar score: " + e.getMessage());
            return Main.BAD_INPUT;
        } catch (InputFileException e) {
            err.println("lumbar score: " + e.getMessage());
            return Main.BAD_INPUT;
        } catch (CharacterCodingException e) {
            err.println("lumbar score: " + reading + ": not UTF-8 text; save the CSV as UTF-8");
            return Main.BAD_INPUT;
        } catch (IOException e) {
            err.println("lumbar score: " + reading + ": cannot read ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                    + ")");
            return Main.BAD_INPUT;
        }

        CompetitionMetric.Score score;
        try {
            score = CompetitionMetric.score(truth, submitted);
        } catch (IllegalArgumentException e) {
            err.println("lumbar score: " + submission + " against " + labels + ": "
                    + e.getMessage());
            return Main.BAD_INPUT;
        }

        for (Condition.Group group : Condition.Group.values()) {
            CompetitionMetric.Loss loss = score.groups().get(group);
            out.println(line(group.kaggleName(), loss.loss(), loss.rows() + " rows"));
        }
        CompetitionMetric.Loss any = score.anySevereSpinal();
        out.println(line("any_severe_spinal", any.loss(), any.rows() + " studies"));
        // a study row with no label in it is not scored, so not counted
        int scored = truth.labelledStudyCount();
        out.println(line("score", score.score(), scored + " studies"));
        if (perTarget) {
            out.println();
            score.targets().forEach((target, loss) ->
                    out.println(line(target.kaggleName(), loss.loss(), loss.rows() + " rows")));
        }
        int unlabelled = truth.studyCount() - scored;
        if (unlabelled > 0) {
            err.println("lumbar score: " + PredictCommand.count(unlabelled, "study", "studies")
                    + " in " + labels + (unlabelled == 1 ? " has no label and is not scored"
                            : " have no label and are not scored"));
        }
        if (score.ignoredRows() > 0) {
            err.println("lumbar score: " + score.ignoredRows()
                    + " submitted rows have no label and were left out");
        }
        out.flush();
        return 0;
    }

    private static String line(String name, double value, String count) {
        return String.format(Locale.ROOT, "%-40s %.6f  (%s)", name, value, count);
    }

    /** The file about to be read, so that a read error can name it. */
    private Path reading;

    private Path requireFile(Path file, String what) throws InputFileException {
        if (Files.isDirectory(file)) {
            throw new InputFileException(file + " (" + what + "): is a folder, not a CSV file");
        }
        if (!Files.isRegularFile(file)) {
            throw new InputFileException(file + " (" + what + "): no such file");
        }
        reading = file;
        return file;
    }

    /** An input path that is missing or not a file; the message names it. */
    private static final class InputFileException extends IOException {
        InputFileException(String message) {
            super(message);
        }
    }
}
