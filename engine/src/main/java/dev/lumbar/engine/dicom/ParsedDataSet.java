package dev.lumbar.engine.dicom;

import dev.lumbar.engine.Redaction;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The top-level elements of one file, copied out of it into one compact byte array; pixel data
 * is not among them (its place in the file is recorded by the parser instead).
 *
 * <p>Layout: element {@code i} has tag {@code tags[i]}, VR {@code vrs[i]} (see {@link Vr}) and
 * its value at {@code values[offsets[i] .. offsets[i] + lengths[i])}, in the byte order of the
 * data set. Tags are sorted ascending for binary search; a repeated tag keeps its first value.
 */
final class ParsedDataSet implements DicomObject {

    private final Path file;
    private final String transferSyntaxUid;
    private final ByteOrder order;
    private final int[] tags;
    private final int[] vrs;
    private final int[] offsets;
    private final int[] lengths;
    private final byte[] values;
    private final long pixelDataOffset;
    private final long pixelDataLength;
    private final Charset charset;

    ParsedDataSet(Path file, String transferSyntaxUid, ByteOrder order, int count, int[] tags,
            int[] vrs, int[] offsets, int[] lengths, byte[] values, long pixelDataOffset,
            long pixelDataLength) {
        this.file = file;
        this.transferSyntaxUid = transferSyntaxUid;
        this.order = order;
        this.values = values;
        this.pixelDataOffset = pixelDataOffset;
        this.pixelDataLength = pixelDataLength;

        // Files list elements in ascending tag order; sort defensively for the few that do not.
        // Sorting (unsigned tag, position) pairs keeps the first of repeated tags first.
        int[] byTag = new int[count];
        boolean sorted = true;
        for (int i = 0; i < count; i++) {
            byTag[i] = i;
            sorted &= i == 0 || Integer.compareUnsigned(tags[i - 1], tags[i]) < 0;
        }
        if (!sorted) {
            long[] keys = new long[count];
            for (int i = 0; i < count; i++) {
                keys[i] = (tags[i] & 0xFFFF_FFFFL) << 32 | i;
            }
            Arrays.sort(keys);
            for (int k = 0; k < count; k++) {
                byTag[k] = (int) keys[k];
            }
        }
        int kept = 0;
        int[] t = new int[count];
        int[] v = new int[count];
        int[] o = new int[count];
        int[] l = new int[count];
        for (int k = 0; k < count; k++) {
            int i = byTag[k];
            if (kept > 0 && t[kept - 1] == tags[i]) {
                continue;
            }
            t[kept] = tags[i];
            v[kept] = vrs[i];
            o[kept] = offsets[i];
            l[kept] = lengths[i];
            kept++;
        }
        this.tags = Arrays.copyOf(t, kept);
        this.vrs = Arrays.copyOf(v, kept);
        this.offsets = Arrays.copyOf(o, kept);
        this.lengths = Arrays.copyOf(l, kept);

        // LIMITATION: of the character sets only UTF-8 (ISO_IR 192) is honoured; any other
        // SpecificCharacterSet is read as Latin-1, so names in e.g. ISO 2022 come out garbled.
        String characterSet = rawString(0x0008_0005);
        this.charset = characterSet != null && characterSet.contains("ISO_IR 192")
                ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public String transferSyntaxUid() {
        return transferSyntaxUid;
    }

    @Override
    public boolean contains(int tag) {
        return indexOf(tag) >= 0 || (tag == Tag.PixelData && pixelDataOffset >= 0);
    }

    /** Where the Pixel Data element's value starts in the file, or -1 without pixel data. */
    long pixelDataOffset() {
        return pixelDataOffset;
    }

    /** The Pixel Data value length in bytes; -1 when encapsulated (undefined length). */
    long pixelDataLength() {
        return pixelDataLength;
    }

    @Override
    public String getString(int tag) {
        int i = indexOf(tag);
        if (i < 0) {
            return null;
        }
        int vr = vrs[i];
        if (Vr.isBinaryNumber(vr)) {
            double[] numbers = binaryNumbers(i);
            StringBuilder text = new StringBuilder();
            for (int k = 0; k < numbers.length; k++) {
                if (k > 0) {
                    text.append('\\');
                }
                double n = numbers[k];
                text.append(n == Math.rint(n) && Math.abs(n) < 1e18
                        ? Long.toString((long) n) : Double.toString(n));
            }
            return text.toString();
        }
        if (vr == Vr.SQ) {
            return null;
        }
        return trimValues(new String(values, offsets[i], lengths[i],
                vr == Vr.UI || vr == Vr.CS || vr == Vr.DS || vr == Vr.IS
                        ? StandardCharsets.ISO_8859_1 : charset));
    }

    @Override
    public double[] getDoubles(int tag) {
        int i = indexOf(tag);
        if (i < 0) {
            return null;
        }
        if (Vr.isBinaryNumber(vrs[i])) {
            return binaryNumbers(i);
        }
        if (vrs[i] == Vr.SQ) {
            return null;
        }
        String text = getString(tag);
        if (text.isEmpty()) {
            return new double[0];
        }
        String[] parts = text.split("\\\\", -1);
        double[] numbers = new double[parts.length];
        try {
            for (int k = 0; k < parts.length; k++) {
                numbers[k] = Double.parseDouble(parts[k]);
            }
        } catch (NumberFormatException notNumeric) {
            return null;
        }
        return numbers;
    }

    @Override
    public int getInt(int tag, int dflt) {
        double[] numbers = getDoubles(tag);
        if (numbers == null || numbers.length == 0 || Double.isNaN(numbers[0])
                || Math.abs(numbers[0]) > Integer.MAX_VALUE) {
            return dflt;
        }
        return (int) numbers[0];
    }

    @Override
    public String toString() {
        // Tags only: values may identify a patient.
        return "DICOM data set of " + tags.length + " elements, "
                + Redaction.registryUid("transfer syntax", transferSyntaxUid);
    }

    private String rawString(int tag) {
        int i = indexOf(tag);
        return i < 0 ? null : new String(values, offsets[i], lengths[i],
                StandardCharsets.ISO_8859_1);
    }

    private int indexOf(int tag) {
        int lo = 0;
        int hi = tags.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Integer.compareUnsigned(tags[mid], tag);
            if (c == 0) {
                return mid;
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return -1;
    }

    private double[] binaryNumbers(int i) {
        int vr = vrs[i];
        int size = Vr.byteSize(vr);
        int n = lengths[i] / size;
        double[] numbers = new double[n];
        int base = offsets[i];
        boolean little = order == ByteOrder.LITTLE_ENDIAN;
        for (int k = 0; k < n; k++) {
            long bits = 0;
            for (int b = 0; b < size; b++) {
                int at = base + k * size + (little ? size - 1 - b : b);
                bits = bits << 8 | (values[at] & 0xFF);
            }
            if (vr == Vr.US) {
                numbers[k] = bits;
            } else if (vr == Vr.SS) {
                numbers[k] = (short) bits;
            } else if (vr == Vr.UL) {
                numbers[k] = bits & 0xFFFF_FFFFL;
            } else if (vr == Vr.SL) {
                numbers[k] = (int) bits;
            } else if (vr == Vr.FL) {
                numbers[k] = Float.intBitsToFloat((int) bits);
            } else if (vr == Vr.FD) {
                numbers[k] = Double.longBitsToDouble(bits);
            } else if (vr == Vr.UV) {
                numbers[k] = bits >= 0 ? bits : (bits >>> 1) * 2.0;
            } else {
                numbers[k] = bits;
            }
        }
        return numbers;
    }

    /** Drops the padding DICOM puts around values (spaces, NULs) from each of the values. */
    private static String trimValues(String text) {
        if (text.indexOf('\\') < 0) {
            return strip(text);
        }
        String[] parts = text.split("\\\\", -1);
        StringBuilder joined = new StringBuilder(text.length());
        for (int k = 0; k < parts.length; k++) {
            if (k > 0) {
                joined.append('\\');
            }
            joined.append(strip(parts[k]));
        }
        return joined.toString();
    }

    private static String strip(String value) {
        int start = 0;
        int end = value.length();
        while (start < end && (value.charAt(start) <= ' ')) {
            start++;
        }
        while (end > start && (value.charAt(end - 1) <= ' ')) {
            end--;
        }
        return value.substring(start, end);
    }
}
