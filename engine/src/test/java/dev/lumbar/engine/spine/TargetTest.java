package dev.lumbar.engine.spine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TargetTest {

    private static Path rsnaFormatDir() {
        String shared = System.getProperty("lumbar.shared.dir");
        assumeTrue(shared != null, "lumbar.shared.dir not set");
        Path dir = Path.of(shared, "data", "rsna-format");
        assumeTrue(Files.isDirectory(dir), "no shared rsna-format data");
        return dir;
    }

    @Test
    void submissionOrderMatchesSampleSubmission() throws IOException {
        List<String> lines = Files.readAllLines(rsnaFormatDir().resolve("sample_submission.csv"));
        List<String> rowIds = lines.subList(1, lines.size()).stream()
                .filter(l -> !l.isBlank()).map(l -> l.substring(0, l.indexOf(','))).toList();
        String study = rowIds.getFirst().substring(0, rowIds.getFirst().indexOf('_'));

        List<String> ours = Target.submissionOrder().stream().map(t -> t.rowId(study)).toList();

        assertEquals(rowIds, ours);
    }

    @Test
    void columnOrderMatchesTrainCsvHeader() throws IOException {
        String header = Files.readAllLines(rsnaFormatDir().resolve("train.head.csv")).getFirst();
        List<String> columns = Arrays.asList(header.split(",")).subList(1, 26);

        assertEquals(columns, Target.ALL.stream().map(Target::kaggleName).toList());
    }

    @Test
    void indexIsPositionInColumnOrder() {
        for (int i = 0; i < Target.COUNT; i++) {
            assertEquals(i, Target.ofIndex(i).index());
        }
        assertEquals(25, Target.COUNT);
    }

    @Test
    void parsesRowIdsBackIntoStudyAndTarget() {
        for (Target target : Target.ALL) {
            Target.RowId parsed = Target.parseRowId(target.rowId("4003253")).orElseThrow();
            assertEquals("4003253", parsed.studyId());
            assertEquals(target, parsed.target());
        }
        assertTrue(Target.parseRowId("4003253_spinal_canal_stenosis_l6_s2").isEmpty());
        assertTrue(Target.parseRowId("_spinal_canal_stenosis_l1_l2").isEmpty());
    }

    @Test
    void labelsRoundTripAndSeriesTypesFollowTheCondition() {
        assertEquals(Condition.LEFT_NEURAL_FORAMINAL_NARROWING,
                Condition.fromLabel("Left Neural Foraminal Narrowing").orElseThrow());
        assertEquals(Level.L5_S1, Level.fromLabel("L5/S1").orElseThrow());
        assertEquals(Severity.NORMAL_MILD, Severity.fromLabel("Normal/Mild").orElseThrow());
        assertEquals(SeriesType.SAG_T2,
                SeriesType.fromDescription("Sagittal T2/STIR").orElseThrow());
        assertEquals(SeriesType.SAG_T2, Condition.SPINAL_CANAL_STENOSIS.seriesType());
        assertEquals(SeriesType.SAG_T1, Condition.RIGHT_NEURAL_FORAMINAL_NARROWING.seriesType());
        assertEquals(SeriesType.AX_T2, Condition.LEFT_SUBARTICULAR_STENOSIS.seriesType());
        assertEquals(Condition.RIGHT_SUBARTICULAR_STENOSIS,
                Condition.LEFT_SUBARTICULAR_STENOSIS.mirrored());
        assertEquals(List.of(Condition.LEFT_NEURAL_FORAMINAL_NARROWING,
                Condition.RIGHT_NEURAL_FORAMINAL_NARROWING),
                Condition.Group.FORAMINAL.conditions());
    }
}
