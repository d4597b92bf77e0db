package dev.lumbar.engine.phantom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Series;
import dev.lumbar.engine.study.SeriesType;
import dev.lumbar.engine.study.SliceGeometry;
import dev.lumbar.engine.study.Stack;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyScan;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.TypingRule;
import dev.lumbar.engine.study.VolumeLoader;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A phantom written to disk reads back with exactly the geometry and pixels it was made with. */
class PhantomRoundTripTest {

    @TempDir
    Path dir;

    @Test
    void writtenStudyReadsBackWithGeneratorGeometryAndPixels() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(11)
                .withRescale(0.5, -20));
        PhantomWriter.write(phantom, dir);

        StudyScan scan = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(dir);
        assertEquals(1, scan.studies().size());
        Study study = scan.studies().getFirst();
        assertEquals(phantom.studyId(), study.id());
        assertEquals(List.of(), study.warnings());
        assertEquals(3, study.series().size());
        VolumeLoader loader = new VolumeLoader(DicomReader.standard());
        for (PhantomSeries expected : phantom.series()) {
            Series series = study.series().stream().filter(s -> s.id().equals(
                    expected.seriesId())).findFirst().orElseThrow();
            assertEquals(expected.type(), series.type());
            assertEquals(TypingRule.SERIES_DESCRIPTION, series.typing().rule());
            assertEquals(expected.stackCount(), series.stacks().size(), series.id());
            Map<Integer, PhantomSlice> byInstance = expected.slices().stream().collect(
                    Collectors.toMap(PhantomSlice::instanceNumber, Function.identity()));
            for (Stack stack : series.stacks()) {
                // positions are written rounded to 0.1 µm, so gaps differ by up to twice that
                assertEquals(expected.sliceSpacing(), stack.sliceSpacing(), 2e-4, stack.name());
                double[] depths = stack.depths();
                for (int i = 1; i < depths.length; i++) {
                    assertTrue(depths[i] > depths[i - 1], stack.name() + " in position order");
                }
                List<String> warnings = new ArrayList<>();
                try (Tensor volume = loader.load(stack, warnings)) {
                    assertArrayEquals(new long[] {stack.size(), stack.rows(), stack.columns()},
                            volume.shape());
                    float[] voxels = volume.toFloatArray();
                    int plane = stack.rows() * stack.columns();
                    for (int i = 0; i < stack.size(); i++) {
                        PhantomSlice made = byInstance.get(stack.slices().get(i).instanceNumber());
                        SliceGeometry read = stack.slices().get(i).geometry();
                        assertEquals(made.geometry(), read, stack.name() + " slice " + i);
                        assertEquals(made.stack(), series.stacks().indexOf(stack));
                        for (int p = 0; p < plane; p++) {
                            float value = Short.toUnsignedInt(made.stored()[p]) * 0.5f - 20f;
                            if (voxels[i * plane + p] != value) {
                                throw new AssertionError(stack.name() + " slice " + i
                                        + " pixel " + p + ": " + voxels[i * plane + p]
                                        + " != " + value);
                            }
                        }
                    }
                }
                assertEquals(List.of(), warnings);
            }
        }
    }

    @Test
    void axialSeriesHasSeveralStacksAndAnObliqueOne() {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(3));
        PhantomSeries axial = phantom.series().stream()
                .filter(s -> s.type() == SeriesType.AX_T2).findFirst().orElseThrow();
        assertEquals(5, axial.stackCount());
        double maxTilt = axial.slices().stream().mapToDouble(s -> Math.toDegrees(Math.acos(
                Math.abs(s.geometry().normal().z())))).max().orElseThrow();
        assertTrue(maxTilt > 15, "L5/S1 stack tilted " + maxTilt + "°");
        assertEquals(30, phantom.landmarks().size());
    }

    @Test
    void sameSeedWritesIdenticalFiles() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(5)), a);
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(5)), b);
        assertEquals(digest(a), digest(b));
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(6)), dir.resolve("c"));
        assertTrue(!digest(a).equals(digest(dir.resolve("c"))));
    }

    @Test
    void severalPhantomsShareOneRootAndItsCsvFiles() throws Exception {
        PhantomStudy first = PhantomGenerator.generate(PhantomOptions.of(1).withStudyId("101"));
        PhantomStudy second = PhantomGenerator.generate(PhantomOptions.of(2).withStudyId("102"));
        PhantomWriter.write(first, dir);
        PhantomWriter.write(second, dir);
        PhantomWriter.write(first, dir);
        List<String> series = Files.readAllLines(dir.resolve(PhantomWriter.SERIES_CSV));
        assertEquals(7, series.size(), series.toString());
        assertTrue(series.get(1).startsWith("102,") && series.get(4).startsWith("101,"));
        assertEquals(61, Files.readAllLines(dir.resolve(PhantomWriter.GROUND_TRUTH_CSV)).size());
        StudyScan scan = new StudyScanner(DicomReader.standard(), SeriesDescriptions.read(
                dir.resolve(PhantomWriter.SERIES_CSV))).scan(dir);
        assertEquals(List.of("101", "102"), scan.studies().stream().map(Study::id).toList());
        assertTrue(scan.studies().stream().flatMap(s -> s.series().stream())
                .allMatch(s -> s.typing().rule() == TypingRule.SERIES_CSV));
    }

    private static String digest(Path root) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                sha.update(root.relativize(f).toString().getBytes());
                sha.update(Files.readAllBytes(f));
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
