package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.Limits;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader's limits from {@link Limits}: each is refused before the size it guards is
 * allocated, with an error naming the file, the size, the limit and the property that raises it.
 */
class DicomLimitsTest {

    private static final long UNDEFINED = 0xFFFF_FFFFL;
    private final DicomReader reader = DicomReader.standard();

    @TempDir
    Path dir;

    @AfterEach
    void restoreDefaults() {
        System.clearProperty("lumbar.limit.imagePixels");
        System.clearProperty("lumbar.limit.framesPerFile");
        System.clearProperty("lumbar.limit.dicomFileBytes");
        System.clearProperty("lumbar.limit.nestingDepth");
        Limits.reload();
    }

    private static void assertNamesLimit(Exception e, String file, String property) {
        String message = e.getMessage();
        assertTrue(message.contains(file), message);
        assertTrue(message.contains("-Dlumbar.limit." + property + "="), message);
    }

    @Test
    void refusesAFrameLargerThanTheDefaultLimitBeforeAllocating() throws Exception {
        // 65535 x 65535 x 16 bit would be 8 GiB; the header alone must be refused
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 65535, 65535, 16, 16, 0)
                .element(Tag.PixelData, "OW", new byte[16])
                .write(dir, "huge-frame.dcm");

        DicomException e = assertThrows(DicomException.class, () -> reader.read(file));
        assertNamesLimit(e, "huge-frame.dcm", "imagePixels");
        assertTrue(e.getMessage().contains("65535 x 65535"), e.getMessage());
    }

    @Test
    void framePixelLimitFollowsItsProperty() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 4, 4, 16, 16, 0)
                .element(Tag.PixelData, "OW", new byte[32])
                .write(dir, "small.dcm");
        assertEquals(4, reader.read(file).rows());

        System.setProperty("lumbar.limit.imagePixels", "15");
        Limits.reload();
        assertNamesLimit(assertThrows(DicomException.class, () -> reader.read(file)),
                "small.dcm", "imagePixels");
    }

    @Test
    void refusesMoreFramesThanTheLimit() throws Exception {
        System.setProperty("lumbar.limit.framesPerFile", "2");
        Limits.reload();
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(3, 2, 2, 8, 8, 0)
                .element(Tag.PixelData, "OB", new byte[12])
                .write(dir, "three-frames.dcm");

        DicomException e = assertThrows(DicomException.class, () -> reader.read(file));
        assertNamesLimit(e, "three-frames.dcm", "framesPerFile");
    }

    @Test
    void refusesAFileOverTheSizeLimitBeforeMappingIt() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 8, 8, 16, 16, 0)
                .element(Tag.PixelData, "OW", new byte[128])
                .write(dir, "sized.dcm");
        System.setProperty("lumbar.limit.dicomFileBytes", "200");
        Limits.reload();

        DicomException header = assertThrows(DicomException.class, () -> reader.readHeader(file));
        assertNamesLimit(header, "sized.dcm", "dicomFileBytes");
        assertThrows(DicomException.class, () -> reader.read(file));
    }

    @Test
    void nestingDepthFollowsItsProperty() throws Exception {
        DicomBytes bytes = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN);
        int levels = 6;
        for (int i = 0; i < levels; i++) {
            bytes.header(0x0008_1140, "SQ", UNDEFINED).item(Tag.Item, UNDEFINED);
        }
        for (int i = 0; i < levels; i++) {
            bytes.item(Tag.ItemDelimitationItem, 0).item(Tag.SequenceDelimitationItem, 0);
        }
        Path file = bytes.write(dir, "six-deep.dcm");
        reader.readHeader(file);

        System.setProperty("lumbar.limit.nestingDepth", "4");
        Limits.reload();
        MalformedDicomException e = assertThrows(MalformedDicomException.class,
                () -> reader.readHeader(file));
        assertNamesLimit(e, "six-deep.dcm", "nestingDepth");
    }
}
