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

    /**
     * A PhotometricInterpretation outside the standard's defined terms is refused without being
     * echoed: a sender's tool can write any text into it, the patient's ID among it.
     */
    @Test
    void aPhotometricInterpretationOutsideTheDefinedTermsIsRefusedWithoutItsValue()
            throws Exception {
        Path series = dir.resolve("s1").resolve("3");
        TestSlices.write(TestSlices.slice(3, "AX T2", 1, at(0, 4), 1)
                .putString(Tag.PatientID, "LO", "MRN3974969")
                .putString(Tag.PhotometricInterpretation, "CS", "MRN3974969"),
                series.resolve("17.dcm"));
        Stack stack = onlyStack();

        StudyException e = assertThrows(StudyException.class,
                () -> new VolumeLoader(DicomReader.standard()).load(stack, new ArrayList<>()));

        assertEquals("3/stack 1: slice 17.dcm has an unrecognised photometric interpretation"
                + " (value withheld), which is not supported", e.getMessage());
    }

    @Test
    void aDefinedButUnsupportedPhotometricInterpretationIsNamed() throws Exception {
        Path series = dir.resolve("s1").resolve("3");
        TestSlices.write(TestSlices.slice(3, "AX T2", 1, at(0, 4), 1)
                .putString(Tag.PhotometricInterpretation, "CS", "PALETTE COLOR"),
                series.resolve("1.dcm"));
        Stack stack = onlyStack();

        StudyException e = assertThrows(StudyException.class,
                () -> new VolumeLoader(DicomReader.standard()).load(stack, new ArrayList<>()));

        assertTrue(e.getMessage().contains("has photometric interpretation PALETTE COLOR,"),
                e.getMessage());
    }

    @Test
    void aColourPhotometricInterpretationOutsideTheDefinedTermsIsNotEchoed() throws Exception {
        Path series = dir.resolve("s1").resolve("6");
        TestSlices.write(TestSlices.slice(6, "AX T2", 1, at(0, 2), 0)
                .putString(Tag.PatientID, "LO", "MRN3974969")
                .putUnsignedShort(Tag.SamplesPerPixel, 3)
                .putUnsignedShort(0x0028_0006, 0)
                .putString(Tag.PhotometricInterpretation, "CS", "YBR_MRN3974969")
                .putUnsignedShort(Tag.BitsAllocated, 8).putUnsignedShort(Tag.BitsStored, 8)
                .putUnsignedShort(Tag.HighBit, 7).putPixels8(Tag.PixelData, new byte[12]),
                series.resolve("1.dcm"));
        List<String> warnings = new ArrayList<>();

        new VolumeLoader(DicomReader.standard()).load(onlyStack(), warnings).close();

        assertEquals(List.of("6/stack 1: colour images (an unrecognised photometric"
                + " interpretation (value withheld)) reduced to luminance"), warnings);
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
     * A slice whose pixel data is shorter than its Rows × Columns, or whose size differs from
     * its neighbours', costs only itself: the stack comes back without it, with a warning
     * naming it, and the slices still carry their own positions.
     */
    @Test
    void loadingWhatIsReadableLeavesOutADamagedSliceAlone() throws Exception {
        Path series = dir.resolve("s1").resolve("5");
        for (int i = 1; i <= 5; i++) {
            var slice = TestSlices.slice(5, "AX T2", i, at(3 * i, i == 4 ? 6 : 4), 10 * i);
            if (i == 2) {
                slice.putPixels16(Tag.PixelData, new short[7]); // 16 pixels by its header
            }
            TestSlices.write(slice, series.resolve(i + ".dcm"));
        }
        Stack stack = onlyStack();
        VolumeLoader loader = new VolumeLoader(DicomReader.standard());
        List<String> warnings = new ArrayList<>();
        try (VolumeLoader.Volume volume = loader.loadReadable(stack, warnings)) {
            assertEquals(List.of(1, 3, 5), volume.stack().slices().stream()
                    .map(Slice::instanceNumber).toList());
            assertArrayEquals(new long[] {3, 4, 4}, volume.voxels().shape());
            float[] v = volume.voxels().toFloatArray();
            assertEquals(10, v[0]);
            assertEquals(30, v[16]);
            assertEquals(50, v[32]);
            assertEquals(stack.slices().get(2).geometry().position(),
                    volume.stack().slices().get(1).geometry().position());
        }
        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("5/stack 1: cannot decode slice 2.dcm ("),
                warnings.toString());
        assertTrue(warnings.get(0).endsWith("; the slice is left out"), warnings.toString());
        assertTrue(warnings.get(1).startsWith("5/stack 1: slices of different size, 4.dcm is"
                + " 6x6 but the stack's are 4x4"), warnings.toString());
        assertEquals("5/stack 1: 3 of its 5 slices are used", warnings.get(2));

        // the strict load still refuses the stack at its first damaged slice
        StudyException strict = assertThrows(StudyException.class,
                () -> loader.load(stack, new ArrayList<>()));
        assertTrue(strict.getMessage().startsWith("5/stack 1: cannot decode slice 2.dcm"),
                strict.getMessage());
    }

    /** A study's deadline is checked before every slice: decoding large images takes long. */
    @Test
    void theLoaderChecksInBeforeEverySlice() throws Exception {
        Path series = dir.resolve("s1").resolve("2");
        for (int i = 1; i <= 3; i++) {
            TestSlices.write(TestSlices.slice(2, "AX T2", i, at(3 * i, 4), 10),
                    series.resolve(i + ".dcm"));
        }
        Stack stack = onlyStack();
        int[] checks = {0};
        try (Tensor volume = new VolumeLoader(DicomReader.standard(), () -> checks[0]++)
                .load(stack, new ArrayList<>())) {
            assertEquals(3, volume.size(0));
        }
        assertEquals(3, checks[0]);

        IllegalStateException stop = assertThrows(IllegalStateException.class,
                () -> new VolumeLoader(DicomReader.standard(), () -> {
                    if (++checks[0] > 4) {
                        throw new IllegalStateException("past the deadline");
                    }
                }).loadReadable(stack, new ArrayList<>()));
        assertEquals("past the deadline", stop.getMessage());
    }

    @Test
    void aStackOfWhichHalfCannotBeReadIsRefused() throws Exception {
        Path series = dir.resolve("s1").resolve("3");
        for (int i = 1; i <= 4; i++) {
            var slice = TestSlices.slice(3, "AX T2", i, at(3 * i, 4), 10);
            if (i % 2 == 0) {
                slice.putString(Tag.RescaleSlope, "DS", "NaN");
            }
            TestSlices.write(slice, series.resolve(i + ".dcm"));
        }
        List<String> warnings = new ArrayList<>();
        Stack stack = onlyStack();
        StudyException e = assertThrows(StudyException.class,
                () -> new VolumeLoader(DicomReader.standard()).loadReadable(stack, warnings));
        assertTrue(e.getMessage().startsWith("3/stack 1: 2 of its 4 slices cannot be read, the"
                + " first: slice 2.dcm has RescaleSlope NaN"), e.getMessage());
        assertEquals(List.of(), warnings);
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
