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
