package dev.lumbar.engine.phantom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomImage;
import dev.lumbar.engine.dicom.DicomObject;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The phantom's writer produces Part 10 files that the engine's reader reads back as written. */
class DicomDatasetTest {

    @TempDir
    Path dir;

    @Test
    void writesPart10ExplicitLittleEndianThatReadsBack() throws Exception {
        Path file = dir.resolve("x.dcm");
        new DicomDataset()
                .putUid(Tag.SOPClassUID, DicomDataset.MR_IMAGE_STORAGE)
                .putString(Tag.SeriesDescription, "LO", "ODD")
                .putString(Tag.PatientName, "PN", "DOE^JO")
                .putDecimals(Tag.PixelSpacing, 0.7, 0.65)
                .putDecimals(Tag.ImagePositionPatient, -123.4567, 0.000001, 1e6)
                .putInteger(Tag.InstanceNumber, 12)
                .putUnsignedShort(Tag.Rows, 2)
                .putUnsignedShort(Tag.Columns, 3)
                .putUnsignedShort(Tag.SamplesPerPixel, 1)
                .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME2")
                .putUnsignedShort(Tag.BitsAllocated, 16)
                .putUnsignedShort(Tag.BitsStored, 16)
                .putUnsignedShort(Tag.HighBit, 15)
                .putUnsignedShort(Tag.PixelRepresentation, 0)
                .putPixels16(Tag.PixelData, new short[] {0, 1, 2, 300, (short) 65535, 7})
                .writePart10(file, DicomDataset.MR_IMAGE_STORAGE, "2.25.1");

        byte[] bytes = Files.readAllBytes(file);
        assertEquals("DICM", new String(bytes, 128, 4, StandardCharsets.US_ASCII));
        DicomImage image = DicomReader.standard().read(file);
        DicomObject header = image.header();
        assertEquals("1.2.840.10008.1.2.1", header.transferSyntaxUid());
        assertEquals("ODD", header.getString(Tag.SeriesDescription));
        assertEquals("2.25.1", header.getString(Tag.MediaStorageSOPInstanceUID));
        assertArrayEquals(new double[] {0.7, 0.65}, header.getDoubles(Tag.PixelSpacing));
        assertArrayEquals(new double[] {-123.4567, 0.000001, 1e6},
                header.getDoubles(Tag.ImagePositionPatient));
        assertEquals(12, header.getInt(Tag.InstanceNumber, 0));
        float[] pixels = new float[6];
        image.readFrame(0, pixels);
        assertArrayEquals(new float[] {0, 1, 2, 300, 65535, 7}, pixels);
    }

    @Test
    void refusesDecimalsThatDoNotFitSixteenCharacters() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DicomDataset().putDecimals(Tag.ImagePositionPatient, 1.0 / 3));
        assertTrue(e.getMessage().contains("(0020,0032)"), e.getMessage());
    }
}
