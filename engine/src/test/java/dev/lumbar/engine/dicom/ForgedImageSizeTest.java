package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.Limits;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rows and Columns forged far beyond the compressed data: refused from what the data holds,
 * before the gigabytes the header claims are reserved.
 */
class ForgedImageSizeTest {

    private static final long UNDEFINED = 0xFFFF_FFFFL;
    private static final int CLAIMED = 30000;

    @TempDir
    Path dir;

    private final DicomReader reader = DicomReader.standard();

    // The frame-size limit would refuse 30000 x 30000 from the header alone; it is raised here
    // so that the codecs' own checks against the data stay tested.
    @BeforeEach
    void raiseTheFrameSizeLimit() {
        System.setProperty("lumbar.limit.imagePixels", Long.toString((long) CLAIMED * CLAIMED));
        Limits.reload();
    }

    @AfterEach
    void restoreTheFrameSizeLimit() {
        System.clearProperty("lumbar.limit.imagePixels");
        Limits.reload();
    }

    @Test
    void jpegSmallerThanItsHeaderClaimsIsRefusedBeforeReserving() throws Exception {
        // padded so that the compression ratio alone does not refuse the claimed 900 MB
        byte[] jpeg = java.util.Arrays.copyOf(smallJpeg(), 480_000);
        Path file = encapsulated(TransferSyntax.JPEG_BASELINE, 8, jpeg, "forged-jpeg.dcm");
        long start = System.nanoTime();
        MalformedDicomException e = assertThrows(MalformedDicomException.class,
                () -> reader.read(file));
        assertTrue(System.nanoTime() - start < 2_000_000_000L, "took too long");
        assertTrue(e.getMessage().contains("image is 16 x 16 but the header says 30000 x"
                + " 30000"), e.getMessage());
    }

    @Test
    void rleTooShortForItsHeaderIsRefusedBeforeReserving() throws Exception {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.writeBytes(DicomBytes.le32(1));
        frame.writeBytes(DicomBytes.le32(64));
        frame.writeBytes(new byte[64 - 8]);
        // runs of 128 zero bytes: enough data to pass the compression-ratio check, far fewer
        // pixels than 30000 x 30000
        for (int i = 0; i < 250_000; i++) {
            frame.write(-127);
            frame.write(0);
        }
        Path file = encapsulated(TransferSyntax.RLE_LOSSLESS, 8, frame.toByteArray(),
                "forged-rle.dcm");
        MalformedDicomException e = assertThrows(MalformedDicomException.class,
                () -> reader.read(file));
        assertTrue(e.getMessage().contains("frame 0 holds 500000 bytes of RLE data, too few for"
                + " 30000 x 30000 pixels"), e.getMessage());
    }

    private Path encapsulated(String syntax, int bits, byte[] fragment, String name)
            throws Exception {
        return DicomBytes.part10(syntax)
                .imagePixel(1, CLAIMED, CLAIMED, bits, bits, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, fragment.length).raw(fragment)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, name);
    }

    /** A 16 x 16 gray baseline JPEG from the JDK's encoder, even in length. */
    private static byte[] smallJpeg() throws Exception {
        java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(16, 16,
                java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image, "jpeg", out);
        byte[] jpeg = out.toByteArray();
        return jpeg.length % 2 == 0 ? jpeg : java.util.Arrays.copyOf(jpeg, jpeg.length + 1);
    }
}
