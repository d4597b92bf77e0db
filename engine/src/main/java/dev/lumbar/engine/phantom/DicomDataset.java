package dev.lumbar.engine.phantom;

import dev.lumbar.engine.dicom.Tag;
import dev.lumbar.engine.dicom.TransferSyntax;
import dev.lumbar.engine.io.AtomicFile;
import dev.lumbar.engine.io.IoProblems;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * A flat (no sequences) DICOM data set that writes itself as a Part 10 file in explicit VR little
 * endian, the only transfer syntax the phantom needs.
 *
 * <p>Elements are kept sorted by tag, as Part 5 requires. Values are padded to even length: UI
 * with a NUL, other text with a space, binary with a zero byte. Decimal strings are written from
 * the double's shortest representation, so a value that fits in 16 characters reads back as the
 * same double; longer ones are rejected rather than silently rounded.
 */
public final class DicomDataset {

    /** Explicit VR little endian. */
    public static final String EXPLICIT_VR_LITTLE_ENDIAN = TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN;

    /** MR Image Storage. */
    public static final String MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4";

    private static final int FILE_META_INFORMATION_VERSION = 0x0002_0001;
    private static final int IMPLEMENTATION_CLASS_UID_TAG = 0x0002_0012;
    private static final int IMPLEMENTATION_VERSION_NAME = 0x0002_0013;
    private static final String IMPLEMENTATION_CLASS_UID = "2.25.1917171120241211";
    private static final String IMPLEMENTATION_VERSION = "LUMBAR_PHANTOM_1";

    private record Element(String vr, byte[] value) {}

    private final Map<Integer, Element> elements = new TreeMap<>(Integer::compareUnsigned);

    /** A text value (AE, AS, CS, DA, LO, PN, SH, TM, ...); backslashes separate multiple values. */
    public DicomDataset putString(int tag, String vr, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.ISO_8859_1);
        return put(tag, vr, pad(bytes, "UI".equals(vr) ? (byte) 0 : (byte) ' '));
    }

    public DicomDataset putUid(int tag, String uid) {
        if (uid.length() > 64) {
            throw new IllegalArgumentException("UID longer than 64 characters for tag "
                    + tagName(tag));
        }
        return putString(tag, "UI", uid);
    }

    /** A decimal string (DS) holding one or more values. */
    public DicomDataset putDecimals(int tag, double... values) {
        StringBuilder text = new StringBuilder();
        for (double v : values) {
            if (!text.isEmpty()) {
                text.append('\\');
            }
            text.append(formatDecimal(tag, v));
        }
        return putString(tag, "DS", text.toString());
    }

    /** An integer string (IS). */
    public DicomDataset putInteger(int tag, long value) {
        return putString(tag, "IS", Long.toString(value));
    }

    /** An unsigned short (US). */
    public DicomDataset putUnsignedShort(int tag, int value) {
        if (value < 0 || value > 0xFFFF) {
            throw new IllegalArgumentException("US value out of range for " + tagName(tag));
        }
        ByteBuffer b = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) value);
        return put(tag, "US", b.array());
    }

    /** Native 16-bit pixel data (OW), row by row. */
    public DicomDataset putPixels16(int tag, short[] pixels) {
        ByteBuffer b = ByteBuffer.allocate(pixels.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(pixels);
        return put(tag, "OW", b.array());
    }

    /** Native 8-bit pixel data (OB), e.g. interleaved RGB samples. */
    public DicomDataset putPixels8(int tag, byte[] pixels) {
        return put(tag, "OB", pad(pixels.clone(), (byte) 0));
    }

    /**
     * Writes preamble, meta header and this data set to {@code file} through a temporary file
     * beside it, so a crash never leaves half a file.
     */
    public void writePart10(Path file, String sopClassUid, String sopInstanceUid) {
        DicomDataset meta = new DicomDataset()
                .put(FILE_META_INFORMATION_VERSION, "OB", new byte[] {0, 1})
                .putUid(Tag.MediaStorageSOPClassUID, sopClassUid)
                .putUid(Tag.MediaStorageSOPInstanceUID, sopInstanceUid)
                .putUid(Tag.TransferSyntaxUID, EXPLICIT_VR_LITTLE_ENDIAN)
                .putUid(IMPLEMENTATION_CLASS_UID_TAG, IMPLEMENTATION_CLASS_UID)
                .putString(IMPLEMENTATION_VERSION_NAME, "SH", IMPLEMENTATION_VERSION);
        byte[] metaBody = meta.encode();
        ByteArrayOutputStream out = new ByteArrayOutputStream(metaBody.length + 256);
        out.writeBytes(new byte[128]);
        out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        ByteBuffer groupLength = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        groupLength.putInt(metaBody.length);
        writeElement(out, Tag.FileMetaInformationGroupLength, "UL", groupLength.array());
        out.writeBytes(metaBody);
        out.writeBytes(encode());
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            AtomicFile.write(file, out.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write DICOM file " + file + " ("
                    + IoProblems.reason(e, "its folder does not exist") + ")", e);
        }
    }

    private DicomDataset put(int tag, String vr, byte[] value) {
        if (vr.length() != 2) {
            throw new IllegalArgumentException("bad VR '" + vr + "' for " + tagName(tag));
        }
        elements.put(tag, new Element(vr, value));
        return this;
    }

    private byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<Integer, Element> e : elements.entrySet()) {
            writeElement(out, e.getKey(), e.getValue().vr(), e.getValue().value());
        }
        return out.toByteArray();
    }

    private static void writeElement(ByteArrayOutputStream out, int tag, String vr, byte[] value) {
        boolean longLength = switch (vr) {
            case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" ->
                    true;
            default -> false;
        };
        if (!longLength && value.length > 0xFFFF) {
            throw new IllegalArgumentException("value too long for VR " + vr + " in "
                    + tagName(tag));
        }
        ByteBuffer header = ByteBuffer.allocate(longLength ? 12 : 8).order(ByteOrder.LITTLE_ENDIAN);
        header.putShort((short) (tag >>> 16));
        header.putShort((short) tag);
        header.put(vr.getBytes(StandardCharsets.US_ASCII));
        if (longLength) {
            header.putShort((short) 0);
            header.putInt(value.length);
        } else {
            header.putShort((short) value.length);
        }
        out.writeBytes(header.array());
        out.writeBytes(value);
    }

    private static byte[] pad(byte[] bytes, byte padding) {
        if (bytes.length % 2 == 0) {
            return bytes;
        }
        byte[] padded = java.util.Arrays.copyOf(bytes, bytes.length + 1);
        padded[bytes.length] = padding;
        return padded;
    }

    private static String formatDecimal(int tag, double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("non-finite decimal for " + tagName(tag));
        }
        // the shortest text that parses back to the same double
        String text = BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
        if (text.length() > 16) {
            throw new IllegalArgumentException("decimal " + text + " needs more than the 16"
                    + " characters DS allows in " + tagName(tag) + "; round it first");
        }
        return text;
    }

    private static String tagName(int tag) {
        return Tag.toString(tag);
    }
}
