package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.phantom.DicomDataset;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which series of a study the pipeline reads: of several of one type the most usable, and none
 * whose images cannot hold a spine.
 */
class StudyStacksTest {

    @TempDir
    Path dir;

    private int seriesNumber;

    /**
     * Writes a sagittal series of {@code slices} images of {@code rows × columns}, 3 mm apart,
     * into {@code series} of study 5; {@code blank} fills every pixel with one value.
     */
    private void sagittal(String series, String description, int slices, int rows, int columns,
            boolean blank, double slope) {
        sagittal(series, description, description.contains("T1"), slices, rows, columns, blank,
                slope);
    }

    /** As above, with T1-weighted timing (TR 600, TE 12) or T2 (TR 3500, TE 100). */
    private void sagittal(String series, String description, boolean t1, int slices, int rows,
            int columns, boolean blank, double slope) {
        seriesNumber++;
        for (int s = 0; s < slices; s++) {
            short[] pixels = new short[rows * columns];
            for (int p = 0; p < pixels.length; p++) {
                pixels[p] = (short) (blank ? 700 : (p * 7 + s * 13) % 4000);
            }
            String sop = "1.2.826.0.1.3680043.2.1143.55." + seriesNumber + "." + (s + 1);
            DicomDataset ds = new DicomDataset()
                    .putUid(Tag.SOPClassUID, DicomDataset.MR_IMAGE_STORAGE)
                    .putUid(Tag.SOPInstanceUID, sop)
                    .putString(Tag.Modality, "CS", "MR")
                    .putString(Tag.SeriesDescription, "LO", description)
                    .putDecimals(Tag.RepetitionTime, t1 ? 600 : 3500)
                    .putDecimals(Tag.EchoTime, t1 ? 12 : 100)
                    .putUid(Tag.StudyInstanceUID, "1.2.826.0.1.3680043.2.1143.55")
                    .putUid(Tag.SeriesInstanceUID, "1.2.826.0.1.3680043.2.1143.55." + seriesNumber)
                    .putInteger(Tag.SeriesNumber, seriesNumber)
                    .putInteger(Tag.InstanceNumber, s + 1)
                    .putDecimals(Tag.ImagePositionPatient, -20 + 3.0 * s, -100, 100)
                    .putDecimals(Tag.ImageOrientationPatient, 0, 1, 0, 0, 0, -1)
                    .putDecimals(Tag.PixelSpacing, 1, 1)
                    .putDecimals(Tag.RescaleSlope, slope)
                    .putDecimals(Tag.RescaleIntercept, 0)
                    .putUnsignedShort(Tag.SamplesPerPixel, 1)
                    .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME2")
                    .putUnsignedShort(Tag.Rows, rows)
                    .putUnsignedShort(Tag.Columns, columns)
                    .putUnsignedShort(Tag.BitsAllocated, 16)
                    .putUnsignedShort(Tag.BitsStored, 12)
                    .putUnsignedShort(Tag.HighBit, 11)
                    .putUnsignedShort(Tag.PixelRepresentation, 0)
                    .putPixels16(Tag.PixelData, pixels);
            ds.writePart10(dir.resolve("5").resolve(series).resolve((s + 1) + ".dcm"),
                    DicomDataset.MR_IMAGE_STORAGE, sop);
        }
    }

    /** Two axial blocks of 4 slices, 40 mm apart, every pixel {@code value}. */
    private void blankAxial(String series, int value) {
        seriesNumber++;
        for (int s = 0; s < 8; s++) {
            String sop = "1.2.826.0.1.3680043.2.1143.55." + seriesNumber + "." + (s + 1);
            short[] pixels = new short[64 * 64];
            java.util.Arrays.fill(pixels, (short) value);
            DicomDataset ds = new DicomDataset()
                    .putUid(Tag.SOPClassUID, DicomDataset.MR_IMAGE_STORAGE)
                    .putUid(Tag.SOPInstanceUID, sop)
                    .putString(Tag.Modality, "CS", "MR")
                    .putString(Tag.SeriesDescription, "LO", "AX T2")
                    .putDecimals(Tag.RepetitionTime, 3500)
                    .putDecimals(Tag.EchoTime, 100)
                    .putUid(Tag.StudyInstanceUID, "1.2.826.0.1.3680043.2.1143.55")
                    .putUid(Tag.SeriesInstanceUID, "1.2.826.0.1.3680043.2.1143.55." + seriesNumber)
                    .putInteger(Tag.SeriesNumber, seriesNumber)
                    .putInteger(Tag.InstanceNumber, s + 1)
                    .putDecimals(Tag.ImagePositionPatient, -30, -30, 4.0 * s + (s < 4 ? 0 : 40))
                    .putDecimals(Tag.ImageOrientationPatient, 1, 0, 0, 0, 1, 0)
                    .putDecimals(Tag.PixelSpacing, 1, 1)
                    .putUnsignedShort(Tag.SamplesPerPixel, 1)
                    .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME2")
                    .putUnsignedShort(Tag.Rows, 64)
                    .putUnsignedShort(Tag.Columns, 64)
                    .putUnsignedShort(Tag.BitsAllocated, 16)
                    .putUnsignedShort(Tag.BitsStored, 12)
                    .putUnsignedShort(Tag.HighBit, 11)
                    .putUnsignedShort(Tag.PixelRepresentation, 0)
                    .putPixels16(Tag.PixelData, pixels);
            ds.writePart10(dir.resolve("5").resolve(series).resolve((s + 1) + ".dcm"),
                    DicomDataset.MR_IMAGE_STORAGE, sop);
        }
    }

    private void sagittal(String series, String description, int slices, int size) {
        sagittal(series, description, slices, size, size, false, 1);
    }

    /** The stacks the pipeline would read, by series; {@code warnings} gets what was said. */
    private List<String> read(List<String> warnings) throws Exception {
        Study study = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(dir).studies().getFirst();
        warnings.addAll(study.warnings());
        try (StudyStacks stacks = StudyStacks.load(study,
                new VolumeLoader(DicomReader.standard()), warnings)) {
            return stacks.stacks().stream().map(s -> s.seriesId() + " " + s.type()).toList();
        }
    }

    @Test
    void ofTwoSagittalSeriesOfOneTypeTheOneWithLargerImagesIsReadAndTheOtherNamed()
            throws Exception {
        sagittal("1", "SAG T2 TSE", 12, 64);
        sagittal("2", "SAG T2 TSE", 12, 128);
        sagittal("3", "SAG T1 TSE", 12, 64);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("2 SAG_T2", "3 SAG_T1"), read(warnings));
        assertTrue(warnings.stream().anyMatch(w -> w.contains("series 2 (12 slices of 128x128)"
                + " is used, as it has the largest images; left out: series 1 (12 slices of"
                + " 64x64)")), warnings.toString());
    }

    @Test
    void ofTwoWithImagesOfOneSizeTheOneWithMoreSlicesIsRead() throws Exception {
        sagittal("1", "SAG T1 TSE", 6, 64);
        sagittal("2", "SAG T1 TSE", 14, 64);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("2 SAG_T1"), read(warnings));
        assertTrue(warnings.stream().anyMatch(w -> w.contains("is used, as it has the most"
                + " slices of those with the largest images")), warnings.toString());
    }

    @Test
    void ofTwoAlikeTheFirstMetIsReadAndTheWarningSaysSo() throws Exception {
        sagittal("1", "SAG T2 TSE", 12, 64);
        sagittal("2", "SAG STIR", 12, 64);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("1 SAG_T2"), read(warnings));
        assertTrue(warnings.stream().anyMatch(w -> w.contains("series 1 (12 slices of 64x64) is"
                + " used, as the first met of those with the largest images and the most"
                + " slices; left out: series 2")), warnings.toString());
    }

    @Test
    void imagesTooSmallToHoldASpineAreNotReadAndSaySo() throws Exception {
        sagittal("1", "SAG T2 TSE", 12, 2, 2, false, 1);
        sagittal("2", "SAG T2 TSE", 12, 64);
        sagittal("3", "SAG T1 TSE", 12, 3, 256, false, 1);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("2 SAG_T2"), read(warnings));
        assertTrue(warnings.contains("series 1 is not used: its images are 2x2 pixels, too small"
                + " to hold a lumbar spine (at least 32 a side are needed)"), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("series 3 is not used: its"
                + " images are 3x256 pixels")), warnings.toString());
    }

    @Test
    void imagesOfOneValueAreNotReadAndSaySo() throws Exception {
        sagittal("1", "SAG T2 TSE", 12, 64, 64, true, 1);
        sagittal("3", "SAG T1 TSE", 12, 64);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("3 SAG_T1"), read(warnings));
        assertTrue(warnings.contains("series 1 is not used: every pixel of its images has the"
                + " value 700.0, so they show nothing"), warnings.toString());
    }

    @Test
    void rescaleSlopeZeroIsReadAsOneWithAWarning() throws Exception {
        sagittal("1", "SAG T2 TSE", 12, 64, 64, false, 0);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("1 SAG_T2"), read(warnings));
        assertEquals(1, warnings.stream().filter(w -> w.contains(": slice 12.dcm and 11 other(s)"
                + " have RescaleSlope 0, which would make every pixel the intercept; their"
                + " stored values are read with slope 1")).count(), warnings.toString());
    }

    @Test
    void aSagittalT1OfOneSliceWarnsThatForaminalSidesAreNotToldApart() throws Exception {
        sagittal("3", "SAG T1 TSE", 1, 64);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("3 SAG_T1"), read(warnings));
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("series 3 (Sagittal T1) has 1"
                + " slice(s), fewer than the 3 needed to tell left from right: the left and"
                + " right neural foraminal narrowing targets")), warnings.toString());
    }

    @Test
    void whereTwoSeriesClaimOneTypeByTextTheTimingSeparatesThem() throws Exception {
        sagittal("1", "SAG T2 STIR", true, 12, 64, 64, false, 1);
        sagittal("2", "SAG T2 TSE", false, 12, 64, 64, false, 1);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("1 SAG_T1", "2 SAG_T2"), read(warnings));
        assertTrue(warnings.contains("series 1: SeriesDescription 'SAG T2 STIR' names T2 but TR"
                + " 600 ms, TE 12 ms are T1-weighted timing; the text decides unless another"
                + " series is typed SAG_T2, then the timing does"), warnings.toString());
        assertTrue(warnings.contains("series 1: typed SAG_T2 by its text, as is another series,"
                + " but its timing is SAG_T1's; the timing decides: it is used as SAG_T1"),
                warnings.toString());
    }

    @Test
    void aLoneSeriesWhoseTimingContradictsItsTextKeepsTheTextsTypeWithAWarning()
            throws Exception {
        sagittal("1", "SAG T2 STIR", true, 12, 64, 64, false, 1);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("1 SAG_T2"), read(warnings));
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("series 1: SeriesDescription"
                + " 'SAG T2 STIR' names T2 but TR 600 ms")), warnings.toString());
    }

    @Test
    void anAxialSeriesWhoseBlocksAreAllBlankIsNamedOnce() throws Exception {
        sagittal("1", "SAG T2 TSE", 12, 64);
        blankAxial("2", 0);
        List<String> warnings = new ArrayList<>();

        assertEquals(List.of("1 SAG_T2"), read(warnings));
        assertTrue(warnings.contains("series 2 is not used: every pixel of its images has the"
                + " value 0.0, so they show nothing (all 2 of its stacks)"), warnings.toString());
        assertTrue(warnings.stream().noneMatch(w -> w.contains("the stack is not used")),
                warnings.toString());
    }
}
