package dev.lumbar.cli;

import static dev.lumbar.cli.CommandRun.lumbar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreCommandTest {

    @TempDir
    Path temp;

    private Path writeUniformCase() throws Exception {
        StringBuilder header = new StringBuilder("study_id");
        StringBuilder row = new StringBuilder("11");
        StringBuilder submission = new StringBuilder("row_id,normal_mild,moderate,severe\n");
        for (var target : dev.lumbar.engine.spine.Target.ALL) {
            header.append(',').append(target.kaggleName());
            row.append(",Normal/Mild");
            submission.append(target.rowId("11")).append(",0.5,0.5,0.5\n");
        }
        Files.writeString(temp.resolve("train.csv"), header + "\n" + row + "\n");
        return Files.writeString(temp.resolve("submission.csv"), submission);
    }

    @Test
    void printsTheFourLossesAndTheScore() throws Exception {
        Path submission = writeUniformCase();

        CommandRun run = lumbar("score", "--submission", submission.toString(),
                "--labels", temp.resolve("train.csv").toString());

        assertEquals(0, run.exit(), run.err());
        List<String> lines = run.out().lines().toList();
        assertEquals(5, lines.size(), run.out());
        // every row renormalises to thirds; the binary term sees the raw 0.5
        String third = String.format(java.util.Locale.ROOT, "%.6f", Math.log(3));
        String half = String.format(java.util.Locale.ROOT, "%.6f", Math.log(2));
        assertTrue(lines.get(0).startsWith("spinal_canal_stenosis"), lines.get(0));
        assertTrue(lines.get(0).contains(third), lines.get(0));
        assertTrue(lines.get(1).startsWith("neural_foraminal_narrowing"));
        assertTrue(lines.get(2).startsWith("subarticular_stenosis"));
        assertTrue(lines.get(3).startsWith("any_severe_spinal") && lines.get(3).contains(half),
                lines.get(3));
        String score = String.format(java.util.Locale.ROOT, "%.6f",
                (3 * Math.log(3) + Math.log(2)) / 4);
        assertTrue(lines.get(4).startsWith("score") && lines.get(4).contains(score),
                lines.get(4));
    }

    @Test
    void perTargetPrintsTheTwentyFiveTargetsAfterTheScore() throws Exception {
        Path submission = writeUniformCase();

        CommandRun run = lumbar("score", "--per-target", "-s", submission.toString(),
                "-l", temp.resolve("train.csv").toString());

        assertEquals(0, run.exit(), run.err());
        List<String> lines = run.out().lines().toList();
        assertEquals(5 + 1 + 25, lines.size(), run.out());
        assertTrue(lines.get(6).startsWith("spinal_canal_stenosis_l1_l2 "), lines.get(6));
        assertTrue(lines.get(30).startsWith("right_subarticular_stenosis_l5_s1 "));
    }

    @Test
    void aColumnNamedTwiceIsRefusedNamingTheFileAndTheColumn() throws Exception {
        Path submission = writeUniformCase();
        // a fourth probability column, also named severe: which one is meant cannot be told
        List<String> lines = Files.readAllLines(submission).stream().map(l -> l + ",0.9")
                .toList();
        Files.writeString(submission, String.join("\n", lines).replaceFirst("severe,0.9",
                "severe,severe") + "\n");

        CommandRun run = lumbar("score", "-s", submission.toString(),
                "-l", temp.resolve("train.csv").toString());

        assertEquals(2, run.exit(), run.out());
        assertTrue(run.err().contains(submission + ":1: column 'severe' appears twice in the"
                + " header"), run.err());
        assertEquals("", run.out());
    }

    @Test
    void aLabelRowWithNoLabelIsNotCountedAsAScoredStudy() throws Exception {
        Path submission = writeUniformCase();
        Path labels = temp.resolve("train.csv");
        Files.writeString(labels, Files.readString(labels) + "12" + ",".repeat(25) + "\n");

        CommandRun run = lumbar("score", "-s", submission.toString(), "-l", labels.toString());

        assertEquals(0, run.exit(), run.err());
        String score = run.out().lines().filter(l -> l.startsWith("score")).findFirst()
                .orElseThrow();
        assertTrue(score.endsWith("(1 studies)"), score);
        assertTrue(run.err().contains("1 study in " + labels + " has no label and is not"
                + " scored"), run.err());
    }

    @Test
    void malformedSubmissionExitsWithItsFileAndLine() throws Exception {
        Path submission = writeUniformCase();
        List<String> lines = Files.readAllLines(submission);
        Files.writeString(submission, lines.get(0) + "\n" + lines.get(1) + "\n"
                + lines.get(2).replace("0.5,0.5,0.5", "0.5,x,0.5") + "\n");

        CommandRun run = lumbar("score", "-s", submission.toString(),
                "-l", temp.resolve("train.csv").toString());

        assertEquals(Main.BAD_INPUT, run.exit());
        assertTrue(run.err().contains(submission + ":3:"), run.err());
    }

    @Test
    void incompleteSubmissionsMissingFilesAndBadUsageExitWithTwo() throws Exception {
        Path submission = writeUniformCase();
        List<String> lines = Files.readAllLines(submission);
        Files.write(submission, lines.subList(0, 10));

        CommandRun incomplete = lumbar("score", "-s", submission.toString(),
                "-l", temp.resolve("train.csv").toString());
        assertEquals(Main.BAD_INPUT, incomplete.exit());
        assertTrue(incomplete.err().contains(submission + " against " + temp.resolve(
                "train.csv") + ": the submission lacks "), incomplete.err());

        CommandRun missing = lumbar("score", "-s", temp.resolve("nope.csv").toString(),
                "-l", temp.resolve("train.csv").toString());
        assertEquals(Main.BAD_INPUT, missing.exit());
        assertTrue(missing.err().contains("nope.csv"), missing.err());

        assertEquals(2, lumbar("score", "-s", submission.toString()).exit());
    }

    @Test
    void aFolderOrANonUtf8FileIsNamedWithItsProblem() throws Exception {
        Path submission = writeUniformCase();
        Path labels = temp.resolve("train.csv");

        CommandRun folder = lumbar("score", "-s", temp.toString(), "-l", labels.toString());
        assertEquals(Main.BAD_INPUT, folder.exit());
        assertEquals("lumbar score: " + temp + " (submission): is a folder, not a CSV file",
                folder.err().strip());

        // Latin-1 bytes: 0xe9 alone is not UTF-8
        byte[] latin1 = (Files.readString(submission).replace("row_id", "row_id\u00e9"))
                .getBytes(StandardCharsets.ISO_8859_1);
        Path notUtf8 = Files.write(temp.resolve("latin1.csv"), latin1);
        CommandRun encoding = lumbar("score", "-s", notUtf8.toString(), "-l", labels.toString());
        assertEquals(Main.BAD_INPUT, encoding.exit());
        assertEquals("lumbar score: " + notUtf8 + ": not UTF-8 text; save the CSV as UTF-8",
                encoding.err().strip());
    }
}
