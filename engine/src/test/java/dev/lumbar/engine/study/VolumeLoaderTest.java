package dev.lumbar.engine.study;

import static dev.lumbar.engine.study.TestSlices.AX_COLUMN;
import static dev.lumbar.engine.study.TestSlices.AX_ROW;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VolumeLoaderTest {

    @TempDir
    Path dir;

    private Stack onlyStack() throws StudyException {
        return new StudyScanner(DicomReader.standard(), SeriesDescriptions.none()).scan(dir)
                .studies().getFirst().series().getFirst().stacks().getFirst();
    }

    private static SliceGeometry at(double z, int size) {
        return TestSlices.geometry(new Vec3(-10, -10, z), AX_ROW, AX_COLUMN, size);
    }

    @Test
    void appliesRescalePerFileAndInvertsMonochrome1() throws Exception {
        Path series = dir.resolve("s1").resolve("4");
        TestSlices.write(TestSlices.slice(4, "AX T2", 1, at(0, 4), 100)
                .putDecimals(Tag.RescaleSlope, 2).putDecimals(Tag.RescaleIntercept, -50),
                series.resolve("1.dcm"));
        TestSlices.write(TestSlices.slice(4, "AX T2", 2, at(3, 4), 100)
                .putString(Tag.PhotometricInterpretation, "CS", "MONOCHROME1"),
                series.resolve("2.dcm"));
        List<String> warnings = new ArrayList<>();
        try (Tensor volume = new VolumeLoader(DicomReader.standard()).load(onlyStack(),
                warnings)) {
            float[] v = volume.toFloatArray();
            assertEquals(100 * 2 - 50, v[0]);
            // 12 bits stored: MONOCHROME1 value 100 becomes 4095 - 100
            assertEquals(4095 - 100, v[16]);
        }
        assertEquals(List.of(), warnings);
    }

    @Test
    void reducesRgbToLuminanceWithAWarning() throws Exception {
        Path series = dir.resolve("s1").resolve("6");
        byte[] rgb = new byte[2 * 2 * 3];
        for (int p = 0; p < 4; p++) {
            rgb[3 * p] = (byte) 200;
            rgb[3 * p + 1] = (byte) 100;
            rgb[3 * p + 2] = (byte) 50;
        }
        TestSlices.write(TestSlices.slice(6, "AX T2", 1, at(0, 2), 0)
                .putUnsignedShort(Tag.SamplesPerPixel, 3)
                .putUnsignedShort(0x0028_0006, 0)
                .putString(Tag.PhotometricInterpretation, "CS", "RGB")
                .putUnsignedShort(Tag.BitsAllocated, 8).putUnsignedShort(Tag.BitsStored, 8)
                .putUnsignedShort(Tag.HighBit, 7).putPixels8(Tag.PixelData, rgb),
                series.resolve("1.dcm"));
        List<String> warnings = new ArrayList<>();
        try (Tensor volume = new VolumeLoader(DicomReader.standard()).load(onlyStack(),
                warnings)) {
            float expected = 0.299f * 200 + 0.587f * 100 + 0.114f * 50;
            assertArrayEquals(new float[] {expected, expected, expected, expected},
                    volume.toFloatArray(), 1e-3f);
        }
        assertTrue(warnings.getFirst().contains("luminance"), warnings.toString());
    }

    @Test
    void slicesOfDifferentSizeAreAnErrorNamingTheStack() throws Exception {
        Path series = dir.resolve("s1").resolve("8");
        TestSlices.write(TestSlices.slice(8, "AX T2", 1, at(0, 4), 1), series.resolve("1.dcm"));
        TestSlices.write(TestSlices.slice(8, "AX T2", 2, at(3, 6), 1), series.resolve("2.dcm"));
        Stack stack = onlyStack();
        StudyException e = assertThrows(StudyException.class,
                () -> new VolumeLoader(DicomReader.standard()).load(stack, new ArrayList<>()));
        assertTrue(e.getMessage().startsWith("8/stack 1: slices of different size"),
                e.getMessage());
    }

    /**
     * A slope or intercept that is not a finite number, or that takes the pixels past the
     * float range, refuses the slice by name: NaN would otherwise reach every probability.
     */
    @ParameterizedTest
    @CsvSource({"NaN, 0, both must be finite", "1, -Infinity, both must be finite",
        "1e38, 0, past the float range"})
    void aSliceWhoseRescaleIsNotFiniteIsRefusedByName(String slope, String intercept,
            String problem) throws Exception {
        Path series = dir.resolve("s1").resolve("9");
        TestSlices.write(TestSlices.slice(9, "AX T2", 1, at(0, 4), 100)
                .putString(Tag.RescaleSlope, "DS", slope)
                .putString(Tag.RescaleIntercept, "DS", intercept), series.resolve("1.dcm"));
        Stack stack = onlyStack();
        StudyException e = assertThrows(StudyException.class,
                () -> new VolumeLoader(DicomReader.standard()).load(stack, new ArrayList<>()));
        assertTrue(e.getMessage().startsWith("9/stack 1: slice 1.dcm has RescaleSlope "),
                e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }
}
