package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lumbar.engine.fuzz.ScratchFile;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the DICOM reader: header parse, pixel location and every decoder.
 * Without {@code JAZZER_FUZZ=1} the test replays {@code DicomFuzzTestInputs} (seeds and past
 * findings).
 */
class DicomFuzzTest {

    private static final ScratchFile SCRATCH = ScratchFile.named("fuzz.dcm");
    private static final int[] HEADER_TAGS = {Tag.TransferSyntaxUID, Tag.Modality,
        Tag.SeriesDescription, Tag.ImagePositionPatient, Tag.ImageOrientationPatient,
        Tag.PixelSpacing, Tag.RescaleSlope, Tag.RescaleIntercept, Tag.Rows, Tag.Columns,
        Tag.NumberOfFrames, Tag.BitsAllocated, Tag.RepetitionTime, Tag.EchoTime,
        Tag.InstanceNumber, Tag.PixelData};

    /** A file is decoded, and every frame and header value can be read, or it is refused. */
    @FuzzTest(maxDuration = "5m")
    void decodesOrRefuses(byte[] input) {
        Path file = SCRATCH.holding(input);
        DicomImage image;
        try {
            image = DicomReader.standard().read(file);
        } catch (DicomException refused) {
            assertTrue(refused.getMessage().contains(file.getFileName().toString()),
                    () -> "error does not name the file: " + refused.getMessage());
            return;
        }
        touchHeader(image.header());
        float[] frame = new float[image.rows() * image.columns() * image.samplesPerPixel()];
        for (int f = 0; f < image.frames(); f++) {
            image.readFrame(f, frame);
        }
    }

    /** The header-only path must accept whatever the full read accepts, without decoding. */
    @FuzzTest(maxDuration = "5m")
    void readsHeaderOrRefuses(byte[] input) {
        Path file = SCRATCH.holding(input);
        try {
            touchHeader(DicomReader.standard().readHeader(file));
        } catch (DicomException refused) {
            assertTrue(refused.getMessage().contains(file.getFileName().toString()),
                    () -> "error does not name the file: " + refused.getMessage());
        }
    }

    private static void touchHeader(DicomObject header) {
        for (int tag : HEADER_TAGS) {
            header.getString(tag);
            header.getDoubles(tag);
            header.getInt(tag, 0);
            header.contains(tag);
        }
        header.transferSyntaxUid();
    }
}
