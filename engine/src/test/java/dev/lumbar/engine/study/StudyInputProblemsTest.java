package dev.lumbar.engine.study;

import static dev.lumbar.engine.study.TestSlices.AX_COLUMN;
import static dev.lumbar.engine.study.TestSlices.AX_ROW;
import static dev.lumbar.engine.study.TestSlices.SAG_COLUMN;
import static dev.lumbar.engine.study.TestSlices.SAG_ROW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.dicom.DicomException;
import dev.lumbar.engine.dicom.DicomImage;
import dev.lumbar.engine.dicom.DicomObject;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.dicom.TransferSyntax;
import dev.lumbar.engine.phantom.DicomDataset;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.spine.SeriesType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged, contradictory and identifying input: each case is read, warned about, never hidden. */
class StudyInputProblemsTest {

    @TempDir
    Path dir;

    private StudyScan scan(Path root) throws StudyException {
        return new StudyScanner(DicomReader.standard(), SeriesDescriptions.none()).scan(root);
    }

    private static String joined(List<String> warnings) {
        return String.join("\n", warnings);
    }

    /** Three axial slices of series 4 in {@code folder}, each changed by {@code change}. */
    private static void axialSeries(Path folder, UnaryOperator<DicomDataset> change) {
        for (int k = 0; k < 3; k++) {
            TestSlices.write(change.apply(TestSlices.slice(4, "AX T2", k + 1,
                    TestSlices.geometry(new Vec3(0, 0, 4.0 * k), AX_ROW, AX_COLUMN, 4), 1)),
                    folder.resolve((k + 1) + ".dcm"));
        }
    }

    @Test
    void hugeImageSizeIsRefusedBeforeAnyVolumeIsReserved() throws Exception {
        // 65535 is over Limits.imagePixels; 8000 is within it but its pixel data is missing
        for (int size : new int[] {65535, 8000}) {
            Path series = dir.resolve("big" + size).resolve("7");
            TestSlices.write(TestSlices.slice(7, "AX T2", 1, TestSlices.geometry(Vec3.ZERO,
                    AX_ROW, AX_COLUMN, 4), 1).putUnsignedShort(Tag.Rows, size)
                    .putUnsignedShort(Tag.Columns, size), series.resolve("1.dcm"));
            Stack stack = scan(dir.resolve("big" + size)).studies().getFirst().series()
                    .getFirst().stacks().getFirst();
            assertEquals(size, stack.rows());
            long start = System.nanoTime();
            StudyException e = assertThrows(StudyException.class,
                    () -> new VolumeLoader(DicomReader.standard()).load(stack,
                            new ArrayList<>()));
            // reserving and zeroing gigabytes first took many seconds
            assertTrue(System.nanoTime() - start < 2_000_000_000L, "took too long");
            assertTrue(e.getMessage().contains("cannot decode slice 1.dcm"), e.getMessage());
            assertTrue(e.getMessage().contains(size == 65535 ? "too large"
                    : "pixel data holds"), e.getMessage());
        }
    }

    @Test
    void seriesCsvContradictingTheGeometryIsWarnedAndGeometryDecidesThePlane()
            throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(21));
        PhantomWriter.write(phantom, dir);
        String sagittal = phantom.series().get(0).seriesId();
        String axial = phantom.series().get(2).seriesId();
        Path csv = dir.resolve("contradicting.csv");
        Files.writeString(csv, "study_id,series_id,series_description\n" + phantom.studyId()
                + "," + sagittal + ",Axial T2\n");
        Study study = new StudyScanner(DicomReader.standard(), SeriesDescriptions.read(csv))
                .scan(dir).studies().getFirst();
        Series read = study.series().stream().filter(s -> s.id().equals(sagittal)).findFirst()
                .orElseThrow();
        // the contradicted text is not trusted for the weighting either: TR/TE say T1
        assertEquals(SeriesType.SAG_T1, read.type());
        assertEquals(TypingRule.GEOMETRY, read.typing().rule());
        assertTrue(study.warnings().stream().anyMatch(w -> w.startsWith("series " + sagittal
                + ": series CSV 'Axial T2' names the axial plane but the images are sagittal")),
                joined(study.warnings()));
        assertEquals(axial, study.series(SeriesType.AX_T2).orElseThrow().id());
    }

    @Test
    void seriesCsvRepeatingARowWithAnotherDescriptionIsWarnedAndNotUsed() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(22));
        PhantomWriter.write(phantom, dir);
        String t1 = phantom.series().get(0).seriesId();
        Path csv = dir.resolve("repeated.csv");
        Files.writeString(csv, "study_id,series_id,series_description\n" + phantom.studyId()
                + "," + t1 + ",Sagittal T1\n" + phantom.studyId() + "," + t1
                + ",Sagittal T2/STIR\n");
        Study study = new StudyScanner(DicomReader.standard(), SeriesDescriptions.read(csv))
                .scan(dir).studies().getFirst();
        Series read = study.series().stream().filter(s -> s.id().equals(t1)).findFirst()
                .orElseThrow();
        assertEquals(TypingRule.SERIES_DESCRIPTION, read.typing().rule());
        assertEquals(SeriesType.SAG_T1, read.type());
        assertTrue(study.warnings().contains("series " + t1 + ": the series CSV gives it"
                + " different descriptions on lines 2, 3; the CSV is not used for it"),
                joined(study.warnings()));
    }

    @Test
    void uidFileNamesAndNameLikeDescriptionsStayOutOfWarnings() throws Exception {
        Path series = dir.resolve("1010").resolve("4");
        String uidName = "2.25.101412345678901236787";
        for (int k = 0; k < 3; k++) {
            TestSlices.write(TestSlices.slice(4, "DOE^JANE01", k + 1, TestSlices.geometry(
                    new Vec3(0, 0, 4.0 * k), AX_ROW, AX_COLUMN, 4), 1),
                    series.resolve(uidName + k + ".dcm"));
        }
        Files.writeString(series.resolve(uidName + "9.dcm"), "not DICOM");
        Study study = scan(dir).studies().getFirst();
        Series read = study.series().getFirst();
        String shown = joined(study.warnings()) + read.typing().reason() + read.description();
        assertFalse(shown.contains("2.25."), shown);
        assertFalse(shown.contains("DOE"), shown);
        assertTrue(shown.contains("1010/4/…7879.dcm: skipped"), shown);
        assertEquals(Redaction.NAME_WITHHELD, read.description());
        assertEquals(SeriesType.AX_T2, read.type());
    }

    @Test
    void linkLoopIsWarnedAndTheStudyStillRead() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(23));
        Path st = dir.resolve("L").resolve("st");
        PhantomWriter.write(phantom, st);
        Files.createSymbolicLink(st.resolve("back"), Path.of(".."));
        StudyScan scan = scan(dir.resolve("L"));
        assertEquals(1, scan.studies().size());
        assertEquals(52, scan.studies().getFirst().series().stream()
                .mapToInt(Series::sliceCount).sum());
        assertTrue(scan.warnings().contains("st/back: a linked folder that leads back into the"
                + " tree; not followed"), joined(scan.warnings()));
    }

    @Test
    void badPixelSpacingIsNamedNotCalledMissing() throws Exception {
        axialSeries(dir.resolve("zero").resolve("4"),
                ds -> ds.putString(Tag.PixelSpacing, "DS", "0\\-1"));
        axialSeries(dir.resolve("huge").resolve("4"),
                ds -> ds.putString(Tag.PixelSpacing, "DS", "1e400\\1e400"));
        String zero = joined(scan(dir.resolve("zero")).studies().getFirst().warnings());
        assertTrue(zero.contains("series 4: PixelSpacing '0\\-1' is not two positive finite"
                + " numbers in 3 of 3 file(s), 1 mm pixels assumed"), zero);
        Study huge = scan(dir.resolve("huge")).studies().getFirst();
        assertTrue(joined(huge.warnings()).contains("PixelSpacing '1e400\\1e400' is not two"
                + " positive finite numbers"), joined(huge.warnings()));
        assertEquals(1.0, huge.series().getFirst().largestStack().rowSpacing());
    }

    @Test
    void aPixelSpacingHoldingTextIsNotRepeated() throws Exception {
        axialSeries(dir.resolve("text").resolve("4"),
                ds -> ds.putString(Tag.PixelSpacing, "DS", "MRN1534689\\ROSSI"));
        String shown = joined(scan(dir.resolve("text")).studies().getFirst().warnings());
        assertTrue(shown.contains("series 4: PixelSpacing is not two positive finite numbers"
                + " (it holds other text, withheld) in 3 of 3 file(s)"), shown);
        assertFalse(shown.contains("MRN1534689") || shown.contains("ROSSI"), shown);
    }

    @Test
    void aPixelSpacingHoldingThePatientsDigitsIsNotRepeated() throws Exception {
        axialSeries(dir.resolve("digits").resolve("4"), ds -> ds
                .putString(Tag.PatientID, "LO", "3974969")
                .putString(Tag.PatientBirthDate, "DA", "19600613")
                .putString(Tag.PixelSpacing, "DS", "19600613"));
        String shown = joined(scan(dir.resolve("digits")).studies().getFirst().warnings());
        assertTrue(shown.contains("series 4: PixelSpacing is not two positive finite numbers"
                + " (it holds one of the file's identifying values, withheld) in 3 of 3"
                + " file(s)"), shown);
        assertFalse(shown.contains("3974969") || shown.contains("19600613"), shown);
    }

    @Test
    void unusableOrientationAndPositionAreNamed() throws Exception {
        axialSeries(dir.resolve("zeros").resolve("4"),
                ds -> ds.putDecimals(Tag.ImageOrientationPatient, 0, 0, 0, 0, 0, 0));
        axialSeries(dir.resolve("parallel").resolve("4"),
                ds -> ds.putDecimals(Tag.ImageOrientationPatient, 1, 0, 0, 1, 0, 0));
        axialSeries(dir.resolve("nan").resolve("4"),
                ds -> ds.putString(Tag.ImagePositionPatient, "DS", "NaN\\NaN\\NaN"));
        for (String name : List.of("zeros", "parallel")) {
            String w = joined(scan(dir.resolve(name)).studies().getFirst().warnings());
            assertTrue(w.contains("3 file(s) without usable ImagePositionPatient/"
                    + "ImageOrientationPatient (3: ImageOrientationPatient is not two"
                    + " perpendicular unit vectors)"), name + ": " + w);
        }
        Study nan = scan(dir.resolve("nan")).studies().getFirst();
        assertTrue(joined(nan.warnings()).contains("(3: ImagePositionPatient is not three"
                + " finite numbers)"), joined(nan.warnings()));
        assertFalse(nan.series().getFirst().largestStack().geometryKnown());
    }

    @Test
    void fileOfAnotherStudyInASeriesIsLeftOutAndNamed() throws Exception {
        Path series = dir.resolve("1011").resolve("4");
        axialSeries(series, ds -> ds);
        TestSlices.write(TestSlices.slice(4, "AX T2", 4, TestSlices.geometry(
                new Vec3(0, 0, 12), AX_ROW, AX_COLUMN, 4), 1)
                .putUid(Tag.StudyInstanceUID, "1.2.826.0.1.3680043.2.1143.555"),
                series.resolve("4.dcm"));
        Study study = scan(dir).studies().getFirst();
        assertEquals(3, study.series().getFirst().sliceCount());
        assertTrue(study.warnings().contains("1011/4/4.dcm: belongs to another study (its"
                + " StudyInstanceUID differs from the rest of the folder), left out"),
                joined(study.warnings()));
    }

    @Test
    void seriesThatCannotBeDecodedIsNotTyped() throws Exception {
        Path series = dir.resolve("1012").resolve("5");
        for (int k = 0; k < 3; k++) {
            TestSlices.write(TestSlices.slice(5, "SAG T1", k + 1, TestSlices.geometry(
                    new Vec3(4.0 * k, 0, 0), SAG_ROW, SAG_COLUMN, 4), 1), series.resolve(
                    (k + 1) + ".dcm"));
        }
        DicomReader standard = DicomReader.standard();
        DicomReader jpegLs = new DicomReader() {
            @Override
            public DicomObject readHeader(Path file) throws DicomException {
                return inSyntax(standard.readHeader(file), TransferSyntax.JPEG_LS_LOSSLESS);
            }

            @Override
            public DicomImage read(Path file) throws DicomException {
                throw new DicomException(file, "not decoded in this test");
            }
        };
        Study study = new StudyScanner(jpegLs, SeriesDescriptions.none()).scan(dir).studies()
                .getFirst();
        Series read = study.series().getFirst();
        assertNull(read.type());
        String w = joined(study.warnings());
        assertTrue(w.contains("but its pixels are in JPEG-LS Lossless, which this reader cannot"
                + " decode), not used"), w);
        assertTrue(study.missingTypes().contains(SeriesType.SAG_T1), w);
    }

    @Test
    void missingFolderIsCalledMissing() {
        StudyException e = assertThrows(StudyException.class, () -> scan(dir.resolve("nope")));
        assertTrue(e.getMessage().endsWith("nope: no such folder; give the folder that holds"
                + " the studies (or one study)"), e.getMessage());
    }

    @Test
    void unreadableSeriesCsvSaysWhy() throws Exception {
        StudyException missing = assertThrows(StudyException.class,
                () -> SeriesDescriptions.read(dir.resolve("nope.csv")));
        assertTrue(missing.getMessage().endsWith("(no such file)"), missing.getMessage());
        Path latin1 = dir.resolve("latin1.csv");
        Files.write(latin1, "study_id,series_id,series_description\n1,2,Sagittal T1 \u00fc\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        StudyException encoding = assertThrows(StudyException.class,
                () -> SeriesDescriptions.read(latin1));
        assertTrue(encoding.getMessage().endsWith("(not UTF-8 text)"), encoding.getMessage());
        StudyException folder = assertThrows(StudyException.class,
                () -> SeriesDescriptions.read(dir));
        assertTrue(folder.getMessage().endsWith("(a folder, not a file)"), folder.getMessage());
    }

    /** {@code header} read as if its file named {@code syntax}. */
    private static DicomObject inSyntax(DicomObject header, String syntax) {
        return new DicomObject() {
            @Override
            public String getString(int tag) {
                return header.getString(tag);
            }

            @Override
            public double[] getDoubles(int tag) {
                return header.getDoubles(tag);
            }

            @Override
            public int getInt(int tag, int dflt) {
                return header.getInt(tag, dflt);
            }

            @Override
            public boolean contains(int tag) {
                return header.contains(tag);
            }

            @Override
            public String transferSyntaxUid() {
                return syntax;
            }

            @Override
            public Path file() {
                return header.file();
            }
        };
    }
}
