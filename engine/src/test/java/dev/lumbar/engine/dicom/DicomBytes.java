package dev.lumbar.engine.dicom;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds small DICOM byte streams element by element, for tests of the parser's edge cases. */
final class DicomBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final boolean explicit;
    private final boolean big;

    private DicomBytes(boolean explicit, boolean big) {
        this.explicit = explicit;
        this.big = big;
    }

    /** Preamble, "DICM" and a meta group naming {@code syntax}; the data set follows. */
    static DicomBytes part10(String syntax) {
        boolean explicit = !syntax.equals(TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN);
        boolean big = syntax.equals(TransferSyntax.EXPLICIT_VR_BIG_ENDIAN);
        DicomBytes file = new DicomBytes(explicit, big);
        file.out.writeBytes(new byte[128]);
        file.out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        DicomBytes meta = new DicomBytes(true, false);
        meta.text(Tag.TransferSyntaxUID, "UI", syntax);
        byte[] metaBytes = meta.bytes();
        DicomBytes groupLength = new DicomBytes(true, false);
        groupLength.element(Tag.FileMetaInformationGroupLength, "UL", le32(metaBytes.length));
        file.out.writeBytes(groupLength.bytes());
        file.out.writeBytes(metaBytes);
        return file;
    }

    /** A data set with neither preamble nor meta group. */
    static DicomBytes bare(boolean explicit, boolean big) {
        return new DicomBytes(explicit, big);
    }

    DicomBytes us(int tag, int... values) {
        byte[] v = new byte[2 * values.length];
        for (int i = 0; i < values.length; i++) {
            put16(v, 2 * i, values[i]);
        }
        return element(tag, "US", v);
    }

    DicomBytes text(int tag, String vr, String value) {
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        if (v.length % 2 == 1) {
            byte[] padded = new byte[v.length + 1];
            System.arraycopy(v, 0, padded, 0, v.length);
            padded[v.length] = (byte) (vr.equals("UI") ? 0 : ' ');
            v = padded;
        }
        return element(tag, vr, v);
    }

    /** An element with a defined length; multi-byte binary values must already be ordered. */
    DicomBytes element(int tag, String vr, byte[] value) {
        header(tag, vr, value.length);
        out.writeBytes(value);
        return this;
    }

    /** An element header alone; pass 0xFFFFFFFFL for an undefined length. */
    DicomBytes header(int tag, String vr, long length) {
        tag(tag);
        if (explicit) {
            out.writeBytes(vr.getBytes(StandardCharsets.US_ASCII));
            if (Vr.hasLongLength(Vr.code(vr))) {
                out.write(0);
                out.write(0);
                int32(length);
            } else {
                int16((int) length);
            }
        } else {
            int32(length);
        }
        return this;
    }

    /** An item or delimiter header: (FFFE,xxxx) and a 32-bit length, never a VR. */
    DicomBytes item(int tag, long length) {
        tag(tag);
        int32(length);
        return this;
    }

    DicomBytes raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** Pixel-module tags of a single-sample image. */
    DicomBytes imagePixel(int frames, int rows, int columns, int allocated, int stored,
            int representation) {
        us(Tag.SamplesPerPixel, 1);
        text(Tag.PhotometricInterpretation, "CS", "MONOCHROME2");
        if (frames > 1) {
            text(Tag.NumberOfFrames, "IS", Integer.toString(frames));
        }
        us(Tag.Rows, rows);
        us(Tag.Columns, columns);
        us(Tag.BitsAllocated, allocated);
        us(Tag.BitsStored, stored);
        us(Tag.HighBit, stored - 1);
        us(Tag.PixelRepresentation, representation);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    Path write(Path dir, String name) throws IOException {
        return Files.write(dir.resolve(name), bytes());
    }

    private void tag(int tag) {
        int16(tag >>> 16);
        int16(tag & 0xFFFF);
    }

    private void int16(int v) {
        if (big) {
            out.write(v >>> 8);
            out.write(v);
        } else {
            out.write(v);
            out.write(v >>> 8);
        }
    }

    private void int32(long v) {
        if (big) {
            int16((int) (v >>> 16));
            int16((int) v);
        } else {
            int16((int) v);
            int16((int) (v >>> 16));
        }
    }

    private void put16(byte[] b, int at, int v) {
        b[at + (big ? 1 : 0)] = (byte) v;
        b[at + (big ? 0 : 1)] = (byte) (v >>> 8);
    }

    static byte[] le32(long v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    static byte[] le16s(int... values) {
        byte[] b = new byte[2 * values.length];
        for (int i = 0; i < values.length; i++) {
            b[2 * i] = (byte) values[i];
            b[2 * i + 1] = (byte) (values[i] >>> 8);
        }
        return b;
    }
}
