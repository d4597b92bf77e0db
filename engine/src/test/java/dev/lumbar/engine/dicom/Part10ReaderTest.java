package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One scenario per test, each on a small file built byte by byte. */
class Part10ReaderTest {

    private static final long UNDEFINED = 0xFFFF_FFFFL;

    @TempDir
    Path dir;

    private final DicomReader reader = DicomReader.standard();

    @Test
    void readsBareImplicitDataSetWithoutPreambleOrMeta() throws Exception {
        Path file = DicomBytes.bare(false, false)
                .text(Tag.Modality, "CS", "MR")
                .text(Tag.ImagePositionPatient, "DS", "-10.5\\2 \\3.25")
                .imagePixel(1, 2, 2, 16, 16, 1)
                .element(Tag.PixelData, "OW", DicomBytes.le16s(1, -2, 300, -32768))
                .write(dir, "bare.dcm");

        DicomImage image = reader.read(file);

        assertEquals(TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN, image.header().transferSyntaxUid());
        assertEquals("MR", image.header().getString(Tag.Modality));
        assertEquals("-10.5\\2\\3.25", image.header().getString(Tag.ImagePositionPatient));
        assertArrayEquals(new double[] {-10.5, 2, 3.25},
                image.header().getDoubles(Tag.ImagePositionPatient));
        assertEquals(2, image.header().getInt(Tag.Rows, -1));
        assertTrue(image.header().contains(Tag.PixelData));
        assertNull(image.header().getString(Tag.SeriesDescription));
        assertArrayEquals(new float[] {1, -2, 300, -32768}, frame(image, 0));
    }

    @Test
    void masksToBitsStoredAndSignExtendsFromTheHighBit() throws Exception {
        // 12 of 16 bits, signed: the top four bits are garbage and must be masked away.
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 1, 4, 16, 12, 1)
                .element(Tag.PixelData, "OW", DicomBytes.le16s(0x0FFF, 0x0800, 0xF7FF, 0xA001))
                .write(dir, "twelve.dcm");

        DicomImage image = reader.read(file);

        assertTrue(image.signed());
        assertEquals(12, image.bitsStored());
        assertArrayEquals(new float[] {-1, -2048, 2047, 1}, frame(image, 0));
        assertEquals(-2048, image.storedValue(0, 0, 1, 0));
    }

    @Test
    void readsSigned8BitAndUnsigned32BitSamples() throws Exception {
        Path bytes = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 1, 4, 8, 8, 1)
                .element(Tag.PixelData, "OB", new byte[] {0, 127, (byte) 0x80, (byte) 0xFF})
                .write(dir, "signed8.dcm");
        byte[] words = new byte[8];
        System.arraycopy(DicomBytes.le32(0xFFFF_FFFEL), 0, words, 0, 4);
        System.arraycopy(DicomBytes.le32(70_000), 0, words, 4, 4);
        Path ints = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 1, 2, 32, 32, 1)
                .element(Tag.PixelData, "OW", words)
                .write(dir, "signed32.dcm");

        assertArrayEquals(new float[] {0, 127, -128, -1}, frame(reader.read(bytes), 0));
        DicomImage wide = reader.read(ints);
        assertEquals(-2, wide.storedValue(0, 0, 0, 0));
        assertEquals(70_000, wide.storedValue(0, 0, 1, 0));
    }

    @Test
    void readsPlanarConfigurationOneAsInterleavedSamples() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .us(Tag.SamplesPerPixel, 3)
                .text(Tag.PhotometricInterpretation, "CS", "RGB")
                .us(Tag.PlanarConfiguration, 1)
                .us(Tag.Rows, 1).us(Tag.Columns, 2)
                .us(Tag.BitsAllocated, 8).us(Tag.BitsStored, 8).us(Tag.HighBit, 7)
                .us(Tag.PixelRepresentation, 0)
                .element(Tag.PixelData, "OB", new byte[] {10, 11, 20, 21, 30, 31})
                .write(dir, "planar.dcm");

        DicomImage image = reader.read(file);

        assertArrayEquals(new float[] {10, 20, 30, 11, 21, 31}, frame(image, 0));
        assertEquals(21, image.storedValue(0, 0, 1, 1));
    }

    @Test
    void skipsNestedSequencesAndKeepsOnlyTopLevelValues() throws Exception {
        // An undefined-length sequence whose item holds a defined-length sequence whose item
        // holds Rows: the nested Rows must not be mistaken for the image's.
        DicomBytes inner = DicomBytes.bare(true, false).us(Tag.Rows, 999);
        byte[] innerItem = inner.bytes();
        DicomBytes nested = DicomBytes.bare(true, false)
                .header(0x0008_1115, "SQ", 8 + innerItem.length)
                .item(Tag.Item, innerItem.length).raw(innerItem);
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .header(0x0008_1140, "SQ", UNDEFINED)
                .item(Tag.Item, UNDEFINED).raw(nested.bytes())
                .item(Tag.ItemDelimitationItem, 0)
                .item(Tag.Item, 0)
                .item(Tag.SequenceDelimitationItem, 0)
                .header(0x0009_1001, "UN", UNDEFINED)
                .item(Tag.Item, UNDEFINED)
                .raw(DicomBytes.bare(false, false).text(0x0009_1002, "LO", "private").bytes())
                .item(Tag.ItemDelimitationItem, 0)
                .item(Tag.SequenceDelimitationItem, 0)
                .text(Tag.SeriesDescription, "LO", "SAG T2")
                .us(Tag.Rows, 4)
                .write(dir, "sequences.dcm");

        DicomObject header = reader.readHeader(file);

        assertEquals("SAG T2", header.getString(Tag.SeriesDescription));
        assertEquals(4, header.getInt(Tag.Rows, -1));
        assertFalse(header.contains(0x0009_1002));
        assertFalse(header.contains(Tag.PixelData));
    }

    @Test
    void findsTagsListedOutOfOrderAndKeepsTheFirstOfARepeatedTag() throws Exception {
        Path file = DicomBytes.bare(true, false)
                .us(Tag.Rows, 4)
                .text(Tag.Modality, "CS", "MR")
                .us(Tag.Rows, 5)
                .text(Tag.SeriesDescription, "LO", "AX T2")
                .write(dir, "unordered.dcm");

        DicomObject header = reader.readHeader(file);

        assertEquals(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN, header.transferSyntaxUid());
        assertEquals(4, header.getInt(Tag.Rows, -1));
        assertEquals("MR", header.getString(Tag.Modality));
        assertEquals("AX T2", header.getString(Tag.SeriesDescription));
    }

    @Test
    void refusesSequencesNestedBeyondTheDepthLimit() throws Exception {
        DicomBytes file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN);
        int levels = dev.lumbar.engine.Limits.current().nestingDepth() + 5;
        for (int i = 0; i < levels; i++) {
            file.header(0x0008_1140, "SQ", UNDEFINED).item(Tag.Item, UNDEFINED);
        }
        for (int i = 0; i < levels; i++) {
            file.item(Tag.ItemDelimitationItem, 0).item(Tag.SequenceDelimitationItem, 0);
        }
        Path path = file.write(dir, "deep.dcm");

        DicomException e = assertThrows(MalformedDicomException.class,
                () -> reader.readHeader(path));
        assertTrue(e.getMessage().contains("nested deeper"), e.getMessage());
        assertTrue(e.getMessage().startsWith(path.toString()), e.getMessage());
    }

    @Test
    void refusesAnElementLongerThanTheRestOfTheFile() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .text(Tag.Modality, "CS", "MR")
                .header(Tag.SeriesDescription, "UT", 1_000_000)
                .raw(new byte[16])
                .write(dir, "long.dcm");

        DicomException e = assertThrows(MalformedDicomException.class,
                () -> reader.readHeader(file));
        assertTrue(e.getMessage().contains("claims 1000000 bytes"), e.getMessage());
        assertEquals(file, e.file());
    }

    @Test
    void refusesUndefinedLengthOnAPlainElement() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .header(Tag.SeriesDescription, "UT", UNDEFINED)
                .raw(new byte[16])
                .write(dir, "undefined.dcm");

        assertThrows(MalformedDicomException.class, () -> reader.readHeader(file));
    }

    @Test
    void refusesAFileThatIsNotDicom() throws Exception {
        Path file = Files.writeString(dir.resolve("notes.txt"), "not an image at all\n");

        DicomException e = assertThrows(MalformedDicomException.class, () -> reader.read(file));
        assertTrue(e.getMessage().contains("not a DICOM file"), e.getMessage());
    }

    /**
     * A file's Modality and transfer syntax are named in errors only when they are the
     * standard's own terms: a sender's tool can write any text into them, a patient's ID
     * among it.
     */
    @Test
    void errorsNameNoModalityOrTransferSyntaxOutsideTheStandard() throws Exception {
        Path noPixels = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .text(Tag.Modality, "CS", "MRN3974969")
                .text(Tag.PatientID, "LO", "MRN3974969")
                .imagePixel(1, 2, 2, 16, 16, 0)
                .write(dir, "no-pixels.dcm");
        Path forgedSyntax = DicomBytes.part10("MRN3974969")
                .imagePixel(1, 1, 2, 16, 16, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, 4).raw(new byte[4])
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "forged-syntax.dcm");

        DicomException missing = assertThrows(NoPixelDataException.class,
                () -> reader.read(noPixels));
        DicomException unsupported = assertThrows(UnsupportedTransferSyntaxException.class,
                () -> reader.read(forgedSyntax));

        assertTrue(missing.getMessage().endsWith("(an unrecognised modality (value withheld))"),
                missing.getMessage());
        assertTrue(unsupported.getMessage().contains("an unrecognised transfer syntax (value"
                + " withheld)"), unsupported.getMessage());
        assertFalse(reader.readHeader(forgedSyntax).toString().contains("MRN"));
        assertTrue(new UnsupportedTransferSyntaxException(noPixels,
                TransferSyntax.JPEG_LS_LOSSLESS).getMessage().contains("transfer syntax "
                        + TransferSyntax.JPEG_LS_LOSSLESS + " (JPEG-LS Lossless)"));
    }

    @Test
    void refusesAnImageWhoseHeaderNeedsMorePixelsThanStored() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN)
                .imagePixel(1, 6000, 6000, 16, 16, 0)
                .element(Tag.PixelData, "OW", new byte[8])
                .write(dir, "small-pixels.dcm");

        assertThrows(MalformedDicomException.class, () -> reader.read(file));
    }

    @Test
    void splitsRleFramesByTheBasicOffsetTable() throws Exception {
        // Frame 0 is split over two fragments; the table says where frame 1 begins.
        byte[] frame0 = rle(new int[] {1, 2, 3, 4, 5, 6});
        byte[] frame1 = rle(new int[] {-7, 7, 7, 7, 7, 7});
        byte[] frame0a = java.util.Arrays.copyOfRange(frame0, 0, 70);
        byte[] frame0b = java.util.Arrays.copyOfRange(frame0, 70, frame0.length);
        long frame1Offset = 8 + frame0a.length + 8 + frame0b.length;
        Path file = DicomBytes.part10(TransferSyntax.RLE_LOSSLESS)
                .imagePixel(2, 2, 3, 16, 16, 1)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 8).raw(DicomBytes.le32(0)).raw(DicomBytes.le32(frame1Offset))
                .item(Tag.Item, frame0a.length).raw(frame0a)
                .item(Tag.Item, frame0b.length).raw(frame0b)
                .item(Tag.Item, frame1.length).raw(frame1)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "rle-table.dcm");

        DicomImage image = reader.read(file);

        assertEquals(2, image.frames());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, frame(image, 0));
        assertArrayEquals(new float[] {-7, 7, 7, 7, 7, 7}, frame(image, 1));
        assertEquals(-1, reader.readHeader(file).getInt(Tag.PixelData, -1));
    }

    @Test
    void splitsRleFramesOneFragmentEachWithoutAnOffsetTable() throws Exception {
        byte[] frame0 = rle(new int[] {100, 200});
        byte[] frame1 = rle(new int[] {65535, 0});
        Path file = DicomBytes.part10(TransferSyntax.RLE_LOSSLESS)
                .imagePixel(2, 1, 2, 16, 16, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, frame0.length).raw(frame0)
                .item(Tag.Item, frame1.length).raw(frame1)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "rle-fragments.dcm");

        DicomImage image = reader.read(file);

        assertArrayEquals(new float[] {65535, 0}, frame(image, 1));
        assertEquals(200, image.storedValue(0, 0, 1, 0));
    }

    @Test
    void splitsJpegFramesAtStartOfImageMarkersWithoutAnOffsetTable() throws Exception {
        byte[] first = grayJpeg(0);
        byte[] second = grayJpeg(1);
        DicomImage alone0 = reader.read(jpegFile("first.dcm", 1, first));
        DicomImage alone1 = reader.read(jpegFile("second.dcm", 1, second));

        // Three fragments for two frames: the first frame's stream is split in two.
        int half = first.length / 2 & ~1;
        byte[] firstA = java.util.Arrays.copyOfRange(first, 0, half);
        byte[] firstB = java.util.Arrays.copyOfRange(first, half, first.length);
        Path file = DicomBytes.part10(TransferSyntax.JPEG_BASELINE)
                .imagePixel(2, 16, 16, 8, 8, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, firstA.length).raw(firstA)
                .item(Tag.Item, firstB.length).raw(firstB)
                .item(Tag.Item, second.length).raw(second)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "two-frames.dcm");

        DicomImage both = reader.read(file);

        assertEquals(2, both.frames());
        assertArrayEquals(frame(alone0, 0), frame(both, 0));
        assertArrayEquals(frame(alone1, 0), frame(both, 1));
        assertFalse(java.util.Arrays.equals(frame(both, 0), frame(both, 1)));
    }

    @Test
    void skipsTheEncapsulatedIconInsideASequence() throws Exception {
        byte[] image = rle(new int[] {9, 8, 7, 6});
        DicomBytes icon = DicomBytes.bare(true, false)
                .us(Tag.Rows, 1)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, 4).raw(new byte[4])
                .item(Tag.SequenceDelimitationItem, 0);
        Path file = DicomBytes.part10(TransferSyntax.RLE_LOSSLESS)
                .imagePixel(1, 2, 2, 16, 16, 0)
                .header(0x0088_0200, "SQ", UNDEFINED)
                .item(Tag.Item, UNDEFINED).raw(icon.bytes())
                .item(Tag.ItemDelimitationItem, 0)
                .item(Tag.SequenceDelimitationItem, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, image.length).raw(image)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "icon.dcm");

        DicomImage decoded = reader.read(file);

        assertEquals(2, decoded.rows());
        assertArrayEquals(new float[] {9, 8, 7, 6}, frame(decoded, 0));
    }

    @Test
    void readsTheHeaderWithoutDecodingBrokenPixelData() throws Exception {
        byte[] garbage = new byte[100];
        Path file = DicomBytes.part10(TransferSyntax.RLE_LOSSLESS)
                .imagePixel(1, 4, 4, 16, 16, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, garbage.length).raw(garbage)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "rle-garbage.dcm");

        assertEquals(4, reader.readHeader(file).getInt(Tag.Rows, -1));
        assertThrows(MalformedDicomException.class, () -> reader.read(file));
    }

    @Test
    void namesTheSyntaxWhenRefusingJpegLs() throws Exception {
        Path file = DicomBytes.part10(TransferSyntax.JPEG_LS_LOSSLESS)
                .imagePixel(1, 2, 2, 16, 16, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, 4).raw(new byte[4])
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, "jpeg-ls.dcm");

        UnsupportedTransferSyntaxException e =
                assertThrows(UnsupportedTransferSyntaxException.class, () -> reader.read(file));
        assertEquals(TransferSyntax.JPEG_LS_LOSSLESS, e.transferSyntaxUid());
        assertTrue(e.getMessage().contains("JPEG-LS"), e.getMessage());
    }

    @Test
    void sniffsABigEndianDataSetWithoutMeta() throws Exception {
        Path file = SharedFiles.dicomDir().resolve("pydicom/ExplVR_BigEndNoMeta.dcm");

        DicomObject header = reader.readHeader(file);

        assertEquals(TransferSyntax.EXPLICIT_VR_BIG_ENDIAN, header.transferSyntaxUid());
        assertEquals("RTPLAN", header.getString(Tag.Modality));
        assertEquals(1, header.getInt(Tag.SeriesNumber, -1));
        assertThrows(NoPixelDataException.class, () -> reader.read(file));
    }

    private Path jpegFile(String name, int frames, byte[] jpeg) throws Exception {
        return DicomBytes.part10(TransferSyntax.JPEG_BASELINE)
                .imagePixel(frames, 16, 16, 8, 8, 0)
                .header(Tag.PixelData, "OB", UNDEFINED)
                .item(Tag.Item, 0)
                .item(Tag.Item, jpeg.length).raw(jpeg)
                .item(Tag.SequenceDelimitationItem, 0)
                .write(dir, name);
    }

    /** A 16 x 16 gray baseline JPEG (the JDK's encoder), a gradient that differs by pattern. */
    private static byte[] grayJpeg(int pattern) throws Exception {
        java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(16, 16,
                java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                image.getRaster().setSample(x, y, 0, pattern == 0 ? 16 * x : 255 - 16 * y);
            }
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image, "jpeg", out);
        byte[] jpeg = out.toByteArray();
        return jpeg.length % 2 == 0 ? jpeg : java.util.Arrays.copyOf(jpeg, jpeg.length + 1);
    }

    private static float[] frame(DicomImage image, int index) {
        float[] values = new float[image.rows() * image.columns() * image.samplesPerPixel()];
        image.readFrame(index, values);
        return values;
    }

    /** RLE Lossless of 16-bit single-sample values: two PackBits segments, high bytes first. */
    private static byte[] rle(int[] values) {
        ByteArrayOutputStream high = new ByteArrayOutputStream();
        ByteArrayOutputStream low = new ByteArrayOutputStream();
        packBits(values, 8, high);
        packBits(values, 0, low);
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.writeBytes(DicomBytes.le32(2));
        frame.writeBytes(DicomBytes.le32(64));
        frame.writeBytes(DicomBytes.le32(64 + high.size()));
        frame.writeBytes(new byte[64 - 12]);
        frame.writeBytes(high.toByteArray());
        frame.writeBytes(low.toByteArray());
        return frame.toByteArray();
    }

    /** Runs of three or more equal bytes as repeats, everything else as one-byte literals. */
    private static void packBits(int[] values, int shift, ByteArrayOutputStream out) {
        int i = 0;
        while (i < values.length) {
            int b = values[i] >>> shift & 0xFF;
            int run = 1;
            while (i + run < values.length && run < 128
                    && (values[i + run] >>> shift & 0xFF) == b) {
                run++;
            }
            if (run >= 3) {
                out.write(1 - run);
                out.write(b);
                i += run;
            } else {
                out.write(0);
                out.write(b);
                i++;
            }
        }
    }
}
