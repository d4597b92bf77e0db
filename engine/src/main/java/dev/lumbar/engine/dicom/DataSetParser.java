package dev.lumbar.engine.dicom;

import dev.lumbar.engine.Limits;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Walks the bytes of one file: preamble, meta group, then the data set in whichever encoding the
 * meta group names (or the first element reveals). Top-level elements are copied into a
 * {@link ParsedDataSet}; sequences are walked and skipped; Pixel Data is located, not copied.
 *
 * <p>LIMITATION: values inside sequences are walked over, not kept, so per-frame geometry of
 * enhanced multi-frame objects (Per-frame Functional Groups) is not available; such files read
 * as one image with the top-level tags only.
 *
 * <p>Hardening: every length is compared with the bytes left in its enclosing value before
 * anything is read or allocated; every loop step consumes at least eight bytes, so no input can
 * make the walk spin; nesting deeper than {@link Limits#nestingDepth()} is refused.
 */
final class DataSetParser {

    private static final long UNDEFINED = 0xFFFF_FFFFL;
    /** The most an inflated data set may grow to; deflate cannot exceed ~1032:1 either. */
    private static final long MAX_INFLATE_RATIO = 1100;
    private static final int MAX_INFLATED_BYTES = 1 << 30;
    private static final ValueLayout.OfShort U16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16_BE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32_BE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** What a parse found: the header, and where the pixel data lies in {@code source}. */
    record Result(ParsedDataSet header, MemorySegment source, boolean bigEndian, int pixelVr,
            long pixelOffset, long pixelLength, long[] basicOffsets, long[] fragmentOffsets,
            long[] fragmentLengths) {

        boolean hasPixelData() {
            return pixelOffset >= 0;
        }

        boolean encapsulated() {
            return fragmentOffsets != null;
        }
    }

    private final Path file;
    private final int maxDepth = Limits.current().nestingDepth();
    private MemorySegment data;

    private int count;
    private int[] tags = new int[64];
    private int[] vrs = new int[64];
    private int[] offsets = new int[64];
    private int[] lengths = new int[64];
    private byte[] values = new byte[1024];
    private int valuesUsed;

    /** The element header {@link #readElementHeader} decoded last. */
    private int elementVr;
    private long elementValueOffset;
    private long elementLength;

    private int pixelVr;
    private long pixelOffset = -1;
    private long pixelLength;
    private long[] basicOffsets;
    private long[] fragmentOffsets;
    private long[] fragmentLengths;

    private DataSetParser(Path file, MemorySegment data) {
        this.file = file;
        this.data = data;
    }

    /** Parses a whole file already mapped (or read) into {@code fileBytes}. */
    static Result parse(Path file, MemorySegment fileBytes) throws DicomException {
        return new DataSetParser(file, fileBytes).run();
    }

    private Result run() throws DicomException {
        long size = data.byteSize();
        long pos = 0;

        // Preamble: 128 bytes of anything, then "DICM". Bare data sets start at byte 0.
        if (size >= 132 && data.get(ValueLayout.JAVA_BYTE, 128) == 'D'
                && data.get(ValueLayout.JAVA_BYTE, 129) == 'I'
                && data.get(ValueLayout.JAVA_BYTE, 130) == 'C'
                && data.get(ValueLayout.JAVA_BYTE, 131) == 'M') {
            pos = 132;
        }

        // Meta group: group 0002, explicit VR little endian by definition.
        String syntax = null;
        int metaElements = 0;
        if (size - pos >= 8 && u16(pos, false) == 0x0002) {
            boolean metaExplicit = Vr.looksLikeVr(byteAt(pos + 4), byteAt(pos + 5));
            pos = walk(pos, size, 0, metaExplicit, false, Walk.META);
            metaElements = count;
            syntax = getMetaString(Tag.TransferSyntaxUID);
        }

        // The data set's encoding: from the meta group, or sniffed from its first element.
        boolean explicit;
        boolean bigEndian;
        if (syntax == null || syntax.isEmpty()) {
            if (size - pos < 8) {
                throw new MalformedDicomException(file, size < 8 ? "file too short for DICOM ("
                        + size + " bytes)" : "no data set after the meta group");
            }
            explicit = Vr.looksLikeVr(byteAt(pos + 4), byteAt(pos + 5));
            int groupLittle = u16(pos, false);
            int groupBig = u16(pos, true);
            bigEndian = explicit && groupBig < groupLittle;
            if (Math.min(groupLittle, groupBig) > 0x00FF || (!explicit && groupLittle > 0x00FF)) {
                throw new MalformedDicomException(file, "not a DICOM file: no DICM marker and"
                        + " no data set element at offset " + pos);
            }
            syntax = !explicit ? TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN
                    : bigEndian ? TransferSyntax.EXPLICIT_VR_BIG_ENDIAN
                    : TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN;
        } else {
            explicit = !syntax.equals(TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN);
            bigEndian = syntax.equals(TransferSyntax.EXPLICIT_VR_BIG_ENDIAN);
        }
        if (bigEndian) {
            swapBinaryValues(metaElements);
        }

        // Deflated data sets: everything after the meta group is one raw deflate stream.
        if (syntax.equals(TransferSyntax.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)) {
            data = inflate(pos, size);
            pos = 0;
            size = data.byteSize();
        }

        walk(pos, size, 0, explicit, bigEndian, Walk.TOP);

        ParsedDataSet header = new ParsedDataSet(file, syntax,
                bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN, count, tags, vrs,
                offsets, lengths, values, pixelOffset,
                fragmentOffsets != null ? -1 : pixelLength);
        return new Result(header, data, bigEndian, pixelVr, pixelOffset, pixelLength,
                basicOffsets, fragmentOffsets, fragmentLengths);
    }

    private enum Walk { META, TOP, ITEM }

    /**
     * Reads elements from {@code pos} up to {@code limit}. META stops at the first element
     * outside group 0002; ITEM stops after an Item Delimitation; TOP runs to the end and keeps
     * what it reads. Returns where reading stopped.
     *
     * <p>The loop only classifies each element; decoding its header, skipping an undefined
     * length and recording its value live in the small methods below. The walk once was one
     * 692-byte method, and Temurin 25.0.3's C2 compiler crashed the JVM (SIGSEGV in final graph
     * reshaping) compiling it once it grew hot. The split alone did not stop the crash; reading
     * through a constant layout in {@link #u16} and {@link #u32} did. The split stays so each
     * compiled unit is small and a future crash is easier to pin down.
     */
    private long walk(long pos, long limit, int depth, boolean explicit, boolean big, Walk mode)
            throws DicomException {
        if (depth > maxDepth) {
            throw tooDeep(pos);
        }
        while (pos < limit) {
            if (limit - pos < 8) {
                throw malformed("truncated element header at offset " + pos + " ("
                        + (limit - pos) + " bytes left)");
            }
            int group = u16(pos, big);
            if (mode == Walk.META && group != 0x0002) {
                return pos;
            }
            int tag = group << 16 | u16(pos + 2, big);
            if (tag == 0 && mode == Walk.TOP) {
                // Group 0000 never appears in a file: this is zero padding after the data set.
                // LIMITATION: anything after such padding is ignored.
                return pos;
            }
            if (tag == Tag.ItemDelimitationItem) {
                if (mode == Walk.ITEM) {
                    return pos + 8;
                }
                throw malformed("item delimiter outside an item at offset " + pos);
            }
            if (group == 0xFFFE) {
                throw malformed("unexpected " + Tag.toString(tag) + " in a data set at offset "
                        + pos);
            }

            readElementHeader(pos, limit, tag, explicit, big);
            int vr = elementVr;
            long valueOffset = elementValueOffset;
            long length = elementLength;
            if (length == UNDEFINED) {
                pos = skipUndefinedLength(tag, vr, valueOffset, limit, depth, explicit, big, mode);
            } else {
                pos = recordValue(tag, vr, pos, valueOffset, length, limit, mode);
            }
        }
        if (mode == Walk.ITEM) {
            throw malformed("item of undefined length not terminated before offset " + limit);
        }
        return pos;
    }

    /**
     * Decodes the VR and length of the element at {@code pos} into {@link #elementVr},
     * {@link #elementValueOffset} and {@link #elementLength}. Explicit VR has short (16-bit) and
     * long (32-bit) length forms; implicit VR takes the VR from the tag.
     */
    private void readElementHeader(long pos, long limit, int tag, boolean explicit, boolean big)
            throws DicomException {
        if (!explicit) {
            elementVr = Vr.implicitVr(tag);
            elementLength = u32(pos + 4, big);
            elementValueOffset = pos + 8;
            return;
        }
        int b0 = byteAt(pos + 4);
        int b1 = byteAt(pos + 5);
        if (!Vr.looksLikeVr(b0, b1)) {
            throw malformed("element " + Tag.toString(tag) + " at offset " + pos
                    + " has no valid VR");
        }
        int vr = b0 << 8 | b1;
        elementVr = vr;
        if (Vr.hasLongLength(vr)) {
            if (limit - pos < 12) {
                throw malformed("truncated element header of " + Tag.toString(tag)
                        + " at offset " + pos);
            }
            elementLength = u32(pos + 8, big);
            elementValueOffset = pos + 12;
        } else {
            elementLength = u16(pos + 6, big);
            elementValueOffset = pos + 8;
        }
    }

    /** Steps over a value of undefined length; returns the offset after its delimiter. */
    private long skipUndefinedLength(int tag, int vr, long valueOffset, long limit, int depth,
            boolean explicit, boolean big, Walk mode) throws DicomException {
        if (tag == Tag.PixelData && mode == Walk.TOP) {
            pixelVr = vr;
            return readFragments(valueOffset, limit, big);
        }
        if (tag == Tag.PixelData) {
            // Encapsulated pixel data of a nested image (an icon, say): fragments are items of
            // defined length, so it skips like a sequence.
            return skipSequence(valueOffset, limit, depth + 1, explicit, big);
        }
        if (vr == Vr.SQ || vr == Vr.UN || !explicit) {
            // An undefined-length UN is a sequence encoded implicit VR little endian.
            boolean innerExplicit = explicit && vr == Vr.SQ;
            boolean innerBig = big && vr == Vr.SQ;
            return skipSequence(valueOffset, limit, depth + 1, innerExplicit, innerBig);
        }
        throw malformed("element " + Tag.toString(tag) + " (" + Vr.name(vr)
                + ") has undefined length");
    }

    /**
     * Checks a defined-length value against the bytes left, then keeps it (outside items) or
     * notes where Pixel Data lies; returns the offset after the value.
     */
    private long recordValue(int tag, int vr, long pos, long valueOffset, long length, long limit,
            Walk mode) throws DicomException {
        if (length > limit - valueOffset) {
            throw malformed("element " + Tag.toString(tag) + " at offset " + pos + " claims "
                    + length + " bytes but only " + (limit - valueOffset) + " are left");
        }
        if (mode != Walk.ITEM) {
            if (tag == Tag.PixelData && mode == Walk.TOP) {
                pixelVr = vr;
                pixelOffset = valueOffset;
                pixelLength = length;
            } else if (vr != Vr.SQ) {
                keep(tag, vr, valueOffset, (int) length);
            }
        }
        return valueOffset + length;
    }

    private MalformedDicomException malformed(String problem) {
        return new MalformedDicomException(file, problem);
    }

    private MalformedDicomException tooDeep(long pos) {
        return malformed("sequences nested deeper than " + maxDepth + " levels at offset " + pos
                + " (the limit; raise it with -Dlumbar.limit.nestingDepth=...)");
    }

    /** Skips the items of an undefined-length sequence; returns the offset after its end. */
    private long skipSequence(long pos, long limit, int depth, boolean explicit, boolean big)
            throws DicomException {
        if (depth > maxDepth) {
            throw tooDeep(pos);
        }
        while (true) {
            if (limit - pos < 8) {
                throw new MalformedDicomException(file, "sequence of undefined length not"
                        + " terminated before offset " + limit);
            }
            int tag = u16(pos, big) << 16 | u16(pos + 2, big);
            long length = u32(pos + 4, big);
            pos += 8;
            if (tag == Tag.SequenceDelimitationItem) {
                return pos;
            }
            if (tag != Tag.Item) {
                throw new MalformedDicomException(file, "expected an item in a sequence at"
                        + " offset " + (pos - 8) + ", found " + Tag.toString(tag));
            }
            if (length == UNDEFINED) {
                pos = walk(pos, limit, depth + 1, explicit, big, Walk.ITEM);
            } else if (length > limit - pos) {
                throw new MalformedDicomException(file, "sequence item at offset " + (pos - 8)
                        + " claims " + length + " bytes but only " + (limit - pos)
                        + " are left");
            } else {
                pos += length;
            }
        }
    }

    /** Records the fragments of encapsulated pixel data; the first item is the offset table. */
    private long readFragments(long pos, long limit, boolean big) throws DicomException {
        pixelOffset = pos;
        long[] starts = new long[8];
        long[] sizes = new long[8];
        int fragments = -1;
        while (true) {
            if (limit - pos < 8) {
                throw new MalformedDicomException(file, "encapsulated pixel data not terminated"
                        + " (file truncated?)");
            }
            int tag = u16(pos, big) << 16 | u16(pos + 2, big);
            long length = u32(pos + 4, big);
            if (tag == Tag.SequenceDelimitationItem) {
                pos += 8;
                break;
            }
            if (tag != Tag.Item) {
                throw new MalformedDicomException(file, "expected a pixel data fragment at"
                        + " offset " + pos + ", found " + Tag.toString(tag));
            }
            if (length > limit - pos - 8) {
                throw new MalformedDicomException(file, "pixel data fragment at offset " + pos
                        + " claims " + length + " bytes but only " + (limit - pos - 8)
                        + " are left");
            }
            if (fragments < 0) {
                if (length % 4 != 0) {
                    throw new MalformedDicomException(file, "basic offset table length "
                            + length + " is not a multiple of 4");
                }
                basicOffsets = new long[(int) (length / 4)];
                for (int i = 0; i < basicOffsets.length; i++) {
                    basicOffsets[i] = u32(pos + 8 + 4L * i, big);
                }
            } else {
                if (fragments == starts.length) {
                    starts = Arrays.copyOf(starts, fragments * 2);
                    sizes = Arrays.copyOf(sizes, fragments * 2);
                }
                starts[fragments] = pos + 8;
                sizes[fragments] = length;
            }
            fragments++;
            pos += 8 + length;
        }
        fragments = Math.max(fragments, 0);
        fragmentOffsets = Arrays.copyOf(starts, fragments);
        fragmentLengths = Arrays.copyOf(sizes, fragments);
        if (basicOffsets == null) {
            basicOffsets = new long[0];
        }
        pixelLength = pos - pixelOffset;
        return pos;
    }

    private MemorySegment inflate(long pos, long size) throws DicomException {
        long compressed = size - pos;
        long cap = Math.min(MAX_INFLATED_BYTES, compressed * MAX_INFLATE_RATIO + 4096);
        byte[] input = data.asSlice(pos, compressed).toArray(ValueLayout.JAVA_BYTE);
        byte[] output = new byte[(int) Math.min(cap, Math.max(4096, compressed * 4))];
        int produced = 0;
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(input);
            while (!inflater.finished()) {
                if (produced == output.length) {
                    if (output.length >= cap) {
                        throw new MalformedDicomException(file, "deflated data set inflates"
                                + " past " + cap + " bytes");
                    }
                    output = Arrays.copyOf(output, (int) Math.min(cap, 2L * output.length));
                }
                int n = inflater.inflate(output, produced, output.length - produced);
                produced += n;
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    // LIMITATION: a stream cut short is refused rather than read up to the cut.
                    throw new MalformedDicomException(file, "deflated data set ends early"
                            + " (file truncated?)");
                }
            }
        } catch (DataFormatException e) {
            throw new MalformedDicomException(file, "deflated data set is corrupt: "
                    + e.getMessage(), e);
        } finally {
            inflater.end();
        }
        return MemorySegment.ofArray(Arrays.copyOf(output, produced));
    }

    private void keep(int tag, int vr, long valueOffset, int length) {
        if (count == tags.length) {
            tags = Arrays.copyOf(tags, count * 2);
            vrs = Arrays.copyOf(vrs, count * 2);
            offsets = Arrays.copyOf(offsets, count * 2);
            lengths = Arrays.copyOf(lengths, count * 2);
        }
        if (values.length - valuesUsed < length) {
            values = Arrays.copyOf(values, (int) Math.min(Integer.MAX_VALUE - 16,
                    Math.max(2L * values.length, (long) valuesUsed + length)));
        }
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, valueOffset, values, valuesUsed, length);
        tags[count] = tag;
        vrs[count] = vr;
        offsets[count] = valuesUsed;
        lengths[count] = length;
        valuesUsed += length;
        count++;
    }

    /** Meta binary values are little endian; a big-endian data set reads its values swapped. */
    private void swapBinaryValues(int elements) {
        for (int i = 0; i < elements; i++) {
            if (!Vr.isBinaryNumber(vrs[i])) {
                continue;
            }
            int size = Vr.byteSize(vrs[i]);
            for (int at = offsets[i]; at + size <= offsets[i] + lengths[i]; at += size) {
                for (int a = at, b = at + size - 1; a < b; a++, b--) {
                    byte t = values[a];
                    values[a] = values[b];
                    values[b] = t;
                }
            }
        }
    }

    private String getMetaString(int tag) {
        for (int i = 0; i < count; i++) {
            if (tags[i] == tag) {
                String uid = new String(values, offsets[i], lengths[i],
                        java.nio.charset.StandardCharsets.ISO_8859_1);
                int end = uid.length();
                while (end > 0 && uid.charAt(end - 1) <= ' ') {
                    end--;
                }
                return uid.substring(0, end).strip();
            }
        }
        return null;
    }

    private int byteAt(long pos) {
        return data.get(ValueLayout.JAVA_BYTE, pos) & 0xFF;
    }

    // One access per byte order, each with a constant layout. Passing a layout chosen at run
    // time (get(big ? U16_BE : U16_LE, pos)) leaves an unresolved var-handle dispatch inside
    // walk, and Temurin 25.0.3's C2 compiler crashed the JVM compiling walk in that shape.
    // Keep every segment read in this class on a constant layout.
    private int u16(long pos, boolean big) {
        short value = big ? data.get(U16_BE, pos) : data.get(U16_LE, pos);
        return value & 0xFFFF;
    }

    private long u32(long pos, boolean big) {
        int value = big ? data.get(U32_BE, pos) : data.get(U32_LE, pos);
        return value & 0xFFFF_FFFFL;
    }
}
