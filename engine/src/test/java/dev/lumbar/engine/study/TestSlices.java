package dev.lumbar.engine.study;

import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.phantom.DicomDataset;
import java.nio.file.Path;

/** Writes small single-slice MR files with chosen geometry for study-model tests. */
final class TestSlices {

    static final Vec3 SAG_ROW = new Vec3(0, 1, 0);
    static final Vec3 SAG_COLUMN = new Vec3(0, 0, -1);
    static final Vec3 AX_ROW = new Vec3(1, 0, 0);
    static final Vec3 AX_COLUMN = new Vec3(0, 1, 0);

    private TestSlices() {}

    /** A slice whose every pixel holds {@code value}, in series {@code seriesNumber}. */
    static DicomDataset slice(int seriesNumber, String description, int instance,
            SliceGeometry g, int value) {
        short[] pixels = new short[g.rows() * g.columns()];
        java.util.Arrays.fill(pixels, (short) value);
        return new DicomDataset()
                .putUid(Tag.SOPClassUID, DicomDataset.MR_IMAGE_STORAGE)
                .putString(Tag.Modality, "CS", "MR")
                .putString(Tag.SeriesDescription, "LO", description)
                .putDecimals(Tag.RepetitionTime, 3000)
                .putDecimals(Tag.EchoTime, 90)
                .putUid(Tag.StudyInstanceUID, "1.2.826.0.1.3680043.2.1143.77")
                .putUid(Tag.SeriesInstanceUID, "1.2.826.0.1.3680043.2.1143.77." + seriesNumber)
                .putInteger(Tag.SeriesNumber, seriesNumber)
                .putInteger(Tag.InstanceNumber, instance)
                .putDecimals(Tag.ImagePositionPatient, g.position().toArray())
                .putDecimals(Tag.ImageOrientationPatient, g.rowCosine().x(), g.rowCosine().y(),
                        g.rowCosine().z(), g.columnCosine().x(), g.columnCosine().y(),
                        g.columnCosine().z())
                .putDecimals(Tag.PixelSpacing, g.rowSpacing(), g.columnSpacing())
                .putUnsignedShort(Tag.SamplesPerPixel, 1)
                .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME2")
                .putUnsignedShort(Tag.Rows, g.rows())
                .putUnsignedShort(Tag.Columns, g.columns())
                .putUnsignedShort(Tag.BitsAllocated, 16)
                .putUnsignedShort(Tag.BitsStored, 12)
                .putUnsignedShort(Tag.HighBit, 11)
                .putUnsignedShort(Tag.PixelRepresentation, 0)
                .putPixels16(Tag.PixelData, pixels);
    }

    /** A 16-bit slice with no ImagePositionPatient, ImageOrientationPatient or PixelSpacing. */
    static DicomDataset sliceWithoutGeometry(int seriesNumber, int instance, int size) {
        return new DicomDataset()
                .putUid(Tag.SOPClassUID, DicomDataset.MR_IMAGE_STORAGE)
                .putUid(Tag.StudyInstanceUID, "1.2.826.0.1.3680043.2.1143.78")
                .putUid(Tag.SeriesInstanceUID, "1.2.826.0.1.3680043.2.1143.78." + seriesNumber)
                .putInteger(Tag.SeriesNumber, seriesNumber)
                .putInteger(Tag.InstanceNumber, instance)
                .putUnsignedShort(Tag.SamplesPerPixel, 1)
                .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME2")
                .putUnsignedShort(Tag.Rows, size)
                .putUnsignedShort(Tag.Columns, size)
                .putUnsignedShort(Tag.BitsAllocated, 16)
                .putUnsignedShort(Tag.BitsStored, 16)
                .putUnsignedShort(Tag.HighBit, 15)
                .putUnsignedShort(Tag.PixelRepresentation, 0)
                .putPixels16(Tag.PixelData, new short[size * size]);
    }

    static void write(DicomDataset ds, Path file) {
        String sop = "1.2.826.0.1.3680043.2.1143.99." + Math.abs(file.toString().hashCode());
        ds.putUid(Tag.SOPInstanceUID, sop);
        ds.writePart10(file, DicomDataset.MR_IMAGE_STORAGE, sop);
    }

    static SliceGeometry geometry(Vec3 position, Vec3 row, Vec3 column, int size) {
        Vec3 written = new Vec3(round4(position.x()), round4(position.y()), round4(position.z()));
        return new SliceGeometry(written, row, column, 0.5, 0.75, size, size);
    }

    /** An axial-like frame tilted {@code degrees} about x. */
    static Vec3 tiltedColumn(double degrees) {
        double r = Math.toRadians(degrees);
        return new Vec3(0, round(Math.cos(r)), round(Math.sin(r)));
    }

    /** Rounded to 0.1 µm so that it fits a decimal string exactly. */
    static double round4(double v) {
        return Double.parseDouble(String.format(java.util.Locale.ROOT, "%.4f", v)) + 0.0;
    }

    static double round(double v) {
        return Math.rint(v * 1e6) / 1e6;
    }
}
