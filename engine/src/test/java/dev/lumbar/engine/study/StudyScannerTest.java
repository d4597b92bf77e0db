package dev.lumbar.engine.study;

import static dev.lumbar.engine.study.TestSlices.AX_COLUMN;
import static dev.lumbar.engine.study.TestSlices.AX_ROW;
import static dev.lumbar.engine.study.TestSlices.SAG_COLUMN;
import static dev.lumbar.engine.study.TestSlices.SAG_ROW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.spine.SeriesType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StudyScannerTest {

    @TempDir
    Path dir;

    private StudyScan scan(Path root) throws StudyException {
        return new StudyScanner(DicomReader.standard(), SeriesDescriptions.none()).scan(root);
    }

    @Test
    void mixedOrientationsInOneSeriesSplitIntoStacks() throws Exception {
        Path series = dir.resolve("1001").resolve("77");
        int instance = 1;
        for (int k = 0; k < 5; k++) {
            TestSlices.write(TestSlices.slice(7, "SCOUT", instance++, TestSlices.geometry(
                    new Vec3(-10 + 4 * k, -50, 60), SAG_ROW, SAG_COLUMN, 16), 100), series
                    .resolve("a" + k + ".dcm"));
        }
        for (int k = 0; k < 4; k++) {
            TestSlices.write(TestSlices.slice(7, "SCOUT", instance++, TestSlices.geometry(
                    new Vec3(-40, -40, 10 + 3 * k), AX_ROW, AX_COLUMN, 16), 200), series
                    .resolve("b" + k + ".dcm"));
        }
        Vec3 tilted = TestSlices.tiltedColumn(15);
        for (int k = 0; k < 3; k++) {
            Vec3 normal = AX_ROW.cross(tilted).normalized();
            TestSlices.write(TestSlices.slice(7, "SCOUT", instance++, TestSlices.geometry(
                    new Vec3(-40, -40, -30).plus(normal.times(3.5 * k)), AX_ROW, tilted, 16), 300),
                    series.resolve("c" + k + ".dcm"));
        }

        Series read = scan(dir).studies().getFirst().series().getFirst();
        assertEquals(List.of(5, 4, 3), read.stacks().stream().map(Stack::size).toList());
        assertEquals(Orientation.AnatomicalPlane.SAGITTAL, read.stacks().get(0).orientation()
                .plane());
        assertFalse(read.stacks().get(1).orientation().oblique());
        assertTrue(read.stacks().get(2).orientation().oblique());
        assertEquals(4.0, read.stacks().get(0).sliceSpacing(), 1e-9);
        assertEquals(3.0, read.stacks().get(1).sliceSpacing(), 1e-9);
        assertEquals(3.5, read.stacks().get(2).sliceSpacing(), 1e-5);
    }

    @Test
    void disjointBlocksOfOneOrientationSplitAtTheGap() throws Exception {
        Path series = dir.resolve("1002").resolve("5");
        int instance = 1;
        for (double z : new double[] {0, 4, 8, 12, 60, 64, 68}) {
            TestSlices.write(TestSlices.slice(5, "AX T2", instance++, TestSlices.geometry(
                    new Vec3(-40, -40, z), AX_ROW, AX_COLUMN, 8), 10), series
                    .resolve(instance + ".dcm"));
        }
        Series read = scan(dir).studies().getFirst().series().getFirst();
        assertEquals(List.of(4, 3), read.stacks().stream().map(Stack::size).toList());
    }

    /**
     * A SeriesDescription typed with the patient's name and birth date in it (no {@code ^} to
     * give it away) is withheld wherever the series is described; its words still type it.
     */
    @Test
    void aDescriptionHoldingThePatientsIdentifyingValuesIsWithheld() throws Exception {
        Path series = dir.resolve("1004").resolve("3");
        int instance = 1;
        for (double z : new double[] {0, 4, 8}) {
            TestSlices.write(TestSlices.slice(3, "AX T2 Leaktest, Anna 19010203", instance++,
                    TestSlices.geometry(new Vec3(-40, -40, z), AX_ROW, AX_COLUMN, 8), 10)
                    .putString(dev.lumbar.engine.dicom.Tag.PatientName, "PN", "LEAKTEST^ANNA")
                    .putString(dev.lumbar.engine.dicom.Tag.PatientBirthDate, "DA", "19010203"),
                    series.resolve(instance + ".dcm"));
        }
        StudyScan scan = scan(dir);
        Series read = scan.studies().getFirst().series().getFirst();
        assertEquals(dev.lumbar.engine.Redaction.IDENTIFIER_WITHHELD, read.description());
        assertEquals(SeriesType.AX_T2, read.typing().type());
        assertEquals(TypingRule.SERIES_DESCRIPTION, read.typing().rule(), read.typing().reason());
        assertTrue(read.typing().reason().contains(dev.lumbar.engine.Redaction.IDENTIFIER_WITHHELD),
                read.typing().reason());
        assertFalse(read.typing().reason().toLowerCase().contains("leaktest"));
        assertFalse(String.join("\n", scan.warnings()).toLowerCase().contains("leaktest"),
                scan.warnings().toString());
    }

    @Test
    void slicesAreOrderedByPositionNotFileNameOrInstanceNumber() throws Exception {
        Path series = dir.resolve("1003").resolve("9");
        List<Integer> instances = new ArrayList<>(List.of(1, 2, 3, 4, 5, 6, 7, 8));
        List<Integer> names = new ArrayList<>(instances);
        Random random = new Random(42);
        Collections.shuffle(instances, random);
        Collections.shuffle(names, random);
        // normal of this sagittal frame is -x: position order runs from +x to -x
        for (int k = 0; k < 8; k++) {
            TestSlices.write(TestSlices.slice(9, "SAG T1", instances.get(k),
                    TestSlices.geometry(new Vec3(20 - 3.3 * k, -50, 60), SAG_ROW, SAG_COLUMN, 8),
                    k), series.resolve(names.get(k) + ".dcm"));
        }
        Stack stack = scan(dir).studies().getFirst().series().getFirst().stacks().getFirst();
        List<Integer> expected = new ArrayList<>();
        for (int k = 0; k < 8; k++) {
            expected.add(instances.get(k));
        }
        assertEquals(expected, stack.slices().stream().map(Slice::instanceNumber).toList());
        assertEquals(20.0, stack.slices().getFirst().geometry().position().x(), 1e-9);
    }

    @Test
    void shuffledFileNamesOfAPhantomKeepPositionOrder() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(21));
        PhantomWriter.write(phantom, dir);
        List<Integer> before = instanceOrder(scan(dir));

        Random random = new Random(7);
        for (var s : phantom.series()) {
            Path folder = dir.resolve(phantom.studyId()).resolve(s.seriesId());
            List<Path> files;
            try (Stream<Path> list = Files.list(folder)) {
                files = new ArrayList<>(list.sorted().toList());
            }
            List<Path> targets = new ArrayList<>(files);
            Collections.shuffle(targets, random);
            for (Path f : files) {
                Files.move(f, f.resolveSibling(f.getFileName() + ".tmp"));
            }
            for (int i = 0; i < files.size(); i++) {
                Files.move(files.get(i).resolveSibling(files.get(i).getFileName() + ".tmp"),
                        targets.get(i), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        assertEquals(before, instanceOrder(scan(dir)));
    }

    private static List<Integer> instanceOrder(StudyScan scan) {
        return scan.studies().getFirst().series().stream().flatMap(s -> s.stacks().stream())
                .flatMap(st -> st.slices().stream()).map(Slice::instanceNumber).toList();
    }

    @Test
    void seriesCsvDecidesFirst() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(2));
        PhantomWriter.write(phantom, dir);
        SeriesDescriptions csv = SeriesDescriptions.read(dir.resolve(PhantomWriter.SERIES_CSV));
        StudyScan scan = new StudyScanner(DicomReader.standard(), csv).scan(dir);
        for (Series s : scan.studies().getFirst().series()) {
            assertEquals(TypingRule.SERIES_CSV, s.typing().rule());
        }
        for (var made : phantom.series()) {
            Series read = scan.studies().getFirst().series().stream()
                    .filter(s -> s.id().equals(made.seriesId())).findFirst().orElseThrow();
            assertEquals(made.type(), read.type());
        }
    }

    @Test
    void nonDicomAndBrokenFilesAreWarningsNotFailures() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(4));
        PhantomWriter.write(phantom, dir);
        Path series = dir.resolve(phantom.studyId()).resolve(phantom.series().get(0).seriesId());
        Files.writeString(series.resolve("notes.txt"), "not an image");
        byte[] whole = Files.readAllBytes(series.resolve("1.dcm"));
        Files.write(series.resolve("1.dcm"), java.util.Arrays.copyOf(whole, 300));

        Study study = scan(dir).studies().getFirst();
        assertEquals(3, study.series().size());
        Series damaged = study.series().stream().filter(s -> s.id().equals(
                phantom.series().get(0).seriesId())).findFirst().orElseThrow();
        assertEquals(phantom.series().get(0).slices().size() - 1, damaged.sliceCount());
        assertTrue(study.warnings().stream().anyMatch(w -> w.contains("notes.txt")),
                study.warnings().toString());
        assertTrue(study.warnings().stream().anyMatch(w -> w.contains("1.dcm")),
                study.warnings().toString());
    }

    @Test
    void otherTreesAreGroupedByUidAndNamedWithoutUids() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(8));
        Path kaggle = dir.resolve("kaggle");
        PhantomWriter.write(phantom, kaggle);
        Path flat = dir.resolve("export").resolve("scan");
        Files.createDirectories(flat.resolve("more"));
        int n = 0;
        try (Stream<Path> files = Files.walk(kaggle.resolve(phantom.studyId()))) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                // a mixed tree: some files one level deeper, names unrelated to the series
                Path target = (n % 3 == 0 ? flat.resolve("more") : flat)
                        .resolve(String.format("IM%05d", n++));
                Files.copy(f, target);
            }
        }
        StudyScan scan = scan(dir.resolve("export"));
        assertEquals(1, scan.studies().size());
        Study study = scan.studies().getFirst();
        assertEquals("scan", study.id());
        assertEquals(List.of("S1", "S2", "S3"), study.series().stream().map(Series::id).toList());
        assertEquals(List.of(SeriesType.SAG_T1, SeriesType.SAG_T2, SeriesType.AX_T2),
                study.series().stream().map(Series::type).toList());
        assertEquals(5, study.series().get(2).stacks().size());
        assertTrue(study.warnings().stream().noneMatch(w -> w.contains("2.25.")));
    }

    @Test
    void missingAndDuplicateTypesAreWarned() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(9));
        PhantomWriter.write(phantom, dir);
        Path studyDir = dir.resolve(phantom.studyId());
        Path axial = studyDir.resolve(phantom.series().get(2).seriesId());
        try (Stream<Path> files = Files.list(axial)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(axial);
        Path t1 = studyDir.resolve(phantom.series().get(0).seriesId());
        Path copy = studyDir.resolve("99");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(t1)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Study study = scan(dir).studies().getFirst();
        List<String> warnings = study.warnings();
        assertEquals(List.of(SeriesType.AX_T2), study.missingTypes());
        // the pipeline warns about a missing type where it costs targets; not twice
        assertTrue(warnings.stream().noneMatch(w -> w.startsWith("no AX_T2 series")), warnings
                .toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("2 series typed SAG_T1")),
                warnings.toString());
    }

    @Test
    void filesWithoutPositionFormOneStackInInstanceOrder() throws Exception {
        Path series = dir.resolve("1004").resolve("3");
        int[] instances = {3, 1, 2};
        for (int k = 0; k < 3; k++) {
            TestSlices.write(TestSlices.sliceWithoutGeometry(3, instances[k], 4),
                    series.resolve("f" + k + ".dcm"));
        }
        Study study = scan(dir).studies().getFirst();
        Stack stack = study.series().getFirst().stacks().getFirst();
        assertEquals(List.of(1, 2, 3), stack.slices().stream().map(Slice::instanceNumber)
                .toList());
        assertFalse(stack.geometryKnown());
        assertTrue(study.warnings().stream().anyMatch(w -> w.contains("3 file(s) without"
                + " usable ImagePositionPatient/ImageOrientationPatient (3: no"
                + " ImagePositionPatient or ImageOrientationPatient)")),
                study.warnings().toString());
    }

    @Test
    void implausibleSpacingIsWarned() throws Exception {
        Path series = dir.resolve("1005").resolve("4");
        for (int k = 0; k < 3; k++) {
            TestSlices.write(TestSlices.slice(4, "AX T2", k + 1, TestSlices.geometry(
                    new Vec3(0, 0, 15.0 * k), AX_ROW, AX_COLUMN, 4), 1),
                    series.resolve(k + ".dcm"));
        }
        List<String> warnings = scan(dir).studies().getFirst().warnings();
        assertTrue(warnings.contains("4/stack 1: unusual slice spacing 15.00 mm"),
                warnings.toString());
    }

    /** Spacings far outside the usual range are printed so that their value can be read. */
    @Test
    void implausibleSpacingIsPrintedReadably() throws Exception {
        Path series = dir.resolve("1006").resolve("4");
        for (int k = 0; k < 3; k++) {
            TestSlices.write(TestSlices.slice(4, "AX T2", k + 1, TestSlices.geometry(
                    new Vec3(0, 0, k), AX_ROW, AX_COLUMN, 4), 1)
                    .putString(Tag.ImagePositionPatient, "DS", "0\\0\\" + 3.3 * k + "e28")
                    .putString(Tag.PixelSpacing, "DS", "1e-9\\1e-9"),
                    series.resolve(k + ".dcm"));
        }
        List<String> warnings = scan(dir).studies().getFirst().warnings();
        assertTrue(warnings.contains("4/stack 1: unusual slice spacing 3.30e+28 mm"),
                warnings.toString());
        assertTrue(warnings.contains("4/stack 1: unusual pixel spacing 1.00e-09x1.00e-09 mm"),
                warnings.toString());
    }

    @Test
    void followsLinkedStudyFolders() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(12));
        Path real = dir.resolve("real");
        PhantomWriter.write(phantom, real);
        Path root = dir.resolve("root");
        Files.createDirectories(root);
        Files.createSymbolicLink(root.resolve(phantom.studyId()),
                real.resolve(phantom.studyId()));
        Study study = scan(root).studies().getFirst();
        assertEquals(phantom.studyId(), study.id());
        assertEquals(52, study.series().stream().mapToInt(Series::sliceCount).sum());
    }
}
