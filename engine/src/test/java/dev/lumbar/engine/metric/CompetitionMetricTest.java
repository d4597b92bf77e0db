package dev.lumbar.engine.metric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.spine.Condition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CompetitionMetricTest {

    @TempDir
    Path temp;

    private static Path fixture(String name) throws Exception {
        return Paths.get(CompetitionMetricTest.class.getResource("/fixtures/metric/" + name)
                .toURI());
    }

    @ParameterizedTest
    @ValueSource(strings = {"random_a", "random_b", "confident", "uniform"})
    void equalsTheIndependentPythonMetric(String name) throws Exception {
        Path dir = fixture(name);
        Map<String, Double> expected = new HashMap<>();
        for (String line : Files.readAllLines(dir.resolve("expected.txt"))) {
            String[] parts = line.split(" ");
            expected.put(parts[0], Double.parseDouble(parts[1]));
        }

        CompetitionMetric.Score score = CompetitionMetric.score(
                Labels.read(dir.resolve("labels.csv")),
                Submission.read(dir.resolve("submission.csv")));

        for (Condition.Group group : Condition.Group.values()) {
            assertRelative(expected.get(group.kaggleName()), score.groups().get(group).loss(),
                    name + " " + group.kaggleName());
        }
        assertRelative(expected.get("any_severe_spinal"), score.anySevereSpinal().loss(),
                name + " any_severe_spinal");
        assertRelative(expected.get("score"), score.score(), name + " score");
        assertTrue(score.ignoredRows() >= 25, "the extra study's rows are ignored");
    }

    @Test
    void leavesOutUnlabelledRowsAndStudiesWithoutSpinalLabels() throws Exception {
        Labels labels = Labels.read(fixture("random_a").resolve("labels.csv"));
        CompetitionMetric.Score score = CompetitionMetric.score(labels,
                Submission.read(fixture("random_a").resolve("submission.csv")));

        int labelledSpinal = 0;
        for (String study : labels.studies()) {
            for (var target : dev.lumbar.engine.spine.Target.ALL) {
                if (target.condition() == Condition.SPINAL_CANAL_STENOSIS
                        && labels.label(study, target).isPresent()) {
                    labelledSpinal++;
                }
            }
        }
        assertEquals(labelledSpinal, score.groups().get(Condition.Group.SPINAL).rows());
        assertEquals(labels.studyCount() - 1, score.anySevereSpinal().rows());

        // the per-target losses add up to their group's
        for (Condition.Group group : Condition.Group.values()) {
            double loss = 0;
            double weight = 0;
            int rows = 0;
            for (var entry : score.targets().entrySet()) {
                if (entry.getKey().condition().group() == group) {
                    loss += entry.getValue().loss() * entry.getValue().totalWeight();
                    weight += entry.getValue().totalWeight();
                    rows += entry.getValue().rows();
                }
            }
            CompetitionMetric.Loss whole = score.groups().get(group);
            assertEquals(whole.loss(), loss / weight, 1e-12 * whole.loss());
            assertEquals(whole.rows(), rows);
        }
    }

    @Test
    void usesTheRawSevereValueForAnySevereSpinal() throws IOException {
        // one study, all levels labelled normal except L4/L5 severe; severe submitted as 0.5
        // of a row summing to 2, i.e. 0.25 after renormalisation; the binary term uses 0.5
        StringBuilder labels = new StringBuilder("study_id");
        StringBuilder row = new StringBuilder("7");
        StringBuilder submission = new StringBuilder("row_id,normal_mild,moderate,severe\n");
        for (var target : dev.lumbar.engine.spine.Target.ALL) {
            labels.append(',').append(target.kaggleName());
            boolean severe = target.kaggleName().equals("spinal_canal_stenosis_l4_l5");
            row.append(',').append(severe ? "Severe" : "Normal/Mild");
            submission.append(target.rowId("7"))
                    .append(severe ? ",1.0,0.5,0.5\n" : ",1.0,0.0,0.0\n");
        }
        Path labelsFile = Files.writeString(temp.resolve("train.csv"), labels + "\n" + row);
        Path submissionFile = Files.writeString(temp.resolve("s.csv"), submission);

        CompetitionMetric.Score score = CompetitionMetric.score(Labels.read(labelsFile),
                Submission.read(submissionFile));

        assertEquals(-Math.log(0.5), score.anySevereSpinal().loss(), 1e-12);
        double spinalExpected = 4 * -Math.log(0.25) / (4 + 4 * 1.0)
                + 4 * -Math.log(1.0 / (1 + 2e-15)) / (4 + 4 * 1.0);
        assertEquals(spinalExpected, score.groups().get(Condition.Group.SPINAL).loss(), 1e-12);
    }

    @Test
    void csvErrorsNameTheFileAndLine() throws IOException {
        Path labels = fixture0("labels.csv");
        Path bad = Files.writeString(temp.resolve("sub.csv"),
                "row_id,normal_mild,moderate,severe\n"
                        + "1_spinal_canal_stenosis_l1_l2,0.2,0.3,0.5\n"
                        + "1_spinal_canal_stenosis_l2_l3,0.2,abc,0.5\n");
        CsvFormatException notNumber = assertThrows(CsvFormatException.class,
                () -> Submission.read(bad));
        assertTrue(notNumber.getMessage().startsWith(bad + ":3: "), notNumber.getMessage());
        assertEquals(3, notNumber.line());

        // Java's own number forms, which the host's CSV reader refuses
        for (String cell : List.of("0x1p-1", "0.5d", "1f")) {
            Path javaOnly = Files.writeString(temp.resolve("java.csv"),
                    "row_id,normal_mild,moderate,severe\n1_spinal_canal_stenosis_l1_l2,"
                            + cell + ",0.25,0.25\n");
            assertEquals(2, assertThrows(CsvFormatException.class,
                    () -> Submission.read(javaOnly)).line(), cell);
        }
        Path plain = Files.writeString(temp.resolve("plain.csv"),
                "row_id,normal_mild,moderate,severe\n1_spinal_canal_stenosis_l1_l2,.5,+0.25,"
                        + "2.5E-1\n");
        assertEquals(1, Submission.read(plain).rowCount());

        Path negative = Files.writeString(temp.resolve("neg.csv"),
                "row_id,normal_mild,moderate,severe\n1_spinal_canal_stenosis_l1_l2,-1,0,1\n");
        assertThrows(CsvFormatException.class, () -> Submission.read(negative));

        Path duplicate = Files.writeString(temp.resolve("dup.csv"),
                "row_id,normal_mild,moderate,severe\n"
                        + "1_spinal_canal_stenosis_l1_l2,1,0,0\n"
                        + "1_spinal_canal_stenosis_l1_l2,1,0,0\n");
        assertEquals(3, assertThrows(CsvFormatException.class,
                () -> Submission.read(duplicate)).line());

        Path shortRow = Files.writeString(temp.resolve("short.csv"),
                "row_id,normal_mild,moderate,severe\n1_spinal_canal_stenosis_l1_l2,1,0\n");
        assertEquals(2, assertThrows(CsvFormatException.class,
                () -> Submission.read(shortRow)).line());

        Path badRowId = Files.writeString(temp.resolve("id.csv"),
                "row_id,normal_mild,moderate,severe\n1_lumbar_l1_l2,1,0,0\n");
        assertTrue(assertThrows(CsvFormatException.class, () -> Submission.read(badRowId))
                .getMessage().contains("row_id"));

        List<String> lines = Files.readAllLines(labels);
        Path badLabel = Files.writeString(temp.resolve("train.csv"), lines.get(0) + "\n"
                + lines.get(1) + "\n" + lines.get(2).replaceFirst("Normal/Mild", "Mild") + "\n");
        CsvFormatException label = assertThrows(CsvFormatException.class,
                () -> Labels.read(badLabel));
        assertEquals(3, label.line());
        assertTrue(label.getMessage().contains("'Mild'"), label.getMessage());

        Path badHeader = Files.writeString(temp.resolve("header.csv"),
                lines.get(0).replace("l5_s1", "l5_l6") + "\n");
        assertEquals(1, assertThrows(CsvFormatException.class,
                () -> Labels.read(badHeader)).line());
    }

    @Test
    void missingSubmissionRowIsNamed() throws Exception {
        Path labels = fixture0("labels.csv");
        Path empty = Files.writeString(temp.resolve("empty.csv"),
                "row_id,normal_mild,moderate,severe\n");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> CompetitionMetric.score(Labels.read(labels), Submission.read(empty)));
        assertTrue(missing.getMessage().matches("the submission lacks [0-9]+ rows that the"
                + " labels grade \\(the first: [0-9]+_[a-z_0-9]+\\)"), missing.getMessage());
    }

    private static Path fixture0(String file) {
        try {
            return fixture("uniform").resolve(file);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertRelative(double expected, double actual, String what) {
        double error = Math.abs(actual - expected) / Math.max(1e-300, Math.abs(expected));
        assertTrue(error <= 1e-9, what + ": expected " + expected + ", got " + actual
                + " (relative error " + error + ")");
    }
}
