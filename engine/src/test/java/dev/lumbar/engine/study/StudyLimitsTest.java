package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.Limits;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scanner's limits: files under a folder, slices per series, series per study. */
class StudyLimitsTest {

    @TempDir
    Path dir;

    private final StudyScanner scanner = new StudyScanner(DicomReader.standard(),
            SeriesDescriptions.none());

    @BeforeEach
    void writePhantom() {
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(3).withStudyId("77")),
                dir.resolve("root"));
    }

    @AfterEach
    void restoreDefaults() {
        System.clearProperty("lumbar.limit.filesPerScan");
        System.clearProperty("lumbar.limit.slicesPerSeries");
        System.clearProperty("lumbar.limit.seriesPerStudy");
        Limits.reload();
    }

    @Test
    void theDefaultsReadThePhantomWhole() throws Exception {
        Study study = scanner.scan(dir.resolve("root")).studies().getFirst();
        assertEquals(3, study.series().size());
        assertTrue(study.warnings().stream().noneMatch(w -> w.contains("limit")),
                study.warnings().toString());
    }

    @Test
    void aFolderWithTooManyFilesIsRefused() {
        System.setProperty("lumbar.limit.filesPerScan", "10");
        Limits.reload();
        StudyException e = assertThrows(StudyException.class,
                () -> scanner.scan(dir.resolve("root")));
        assertTrue(e.getMessage().contains("more than 10 files"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dlumbar.limit.filesPerScan="), e.getMessage());
    }

    @Test
    void aSeriesWithTooManySlicesIsLeftOutWithAWarning() throws Exception {
        // the phantom's axial series has the most slices; sagittal ones have 15 or 17
        System.setProperty("lumbar.limit.slicesPerSeries", "17");
        Limits.reload();
        Study study = scanner.scan(dir.resolve("root")).studies().getFirst();
        assertTrue(study.series().size() < 3, study.series().toString());
        assertTrue(study.warnings().stream().anyMatch(w -> w.contains("left out")
                && w.contains("-Dlumbar.limit.slicesPerSeries=")), study.warnings().toString());
    }

    @Test
    void seriesBeyondTheLimitAreLeftOutWithAWarning() throws Exception {
        System.setProperty("lumbar.limit.seriesPerStudy", "2");
        Limits.reload();
        Study study = scanner.scan(dir.resolve("root")).studies().getFirst();
        assertEquals(2, study.series().size());
        assertTrue(study.warnings().stream().anyMatch(w -> w.contains("over the limit of 2")),
                study.warnings().toString());
    }
}
