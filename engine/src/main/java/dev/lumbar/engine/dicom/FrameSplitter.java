package dev.lumbar.engine.dicom;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * Groups the fragments of encapsulated pixel data into frames (PS3.5 A.4): a single frame takes
 * every fragment; several frames follow the basic offset table when it has one entry per frame,
 * else one fragment per frame, else a new frame at each fragment that opens with the codec's
 * start-of-image marker.
 */
final class FrameSplitter {

    private FrameSplitter() {
    }

    static byte[][] split(Path file, DataSetParser.Result parsed, int frames, String syntax)
            throws DicomException {
        long[] starts = parsed.fragmentOffsets();
        long[] lengths = parsed.fragmentLengths();
        long[] table = parsed.basicOffsets();
        int fragments = starts.length;
        if (fragments == 0) {
            throw new MalformedDicomException(file, "encapsulated pixel data has no fragments");
        }
        if (frames > fragments && fragments > 0 && frames != 1) {
            throw new MalformedDicomException(file, "NumberOfFrames is " + frames + " but the"
                    + " pixel data has only " + fragments + " fragment(s)");
        }

        // firstFragment[f] is where frame f starts; the sentinel closes the last frame.
        int[] firstFragment = new int[frames + 1];
        firstFragment[frames] = fragments;
        if (frames == 1) {
            firstFragment[0] = 0;
        } else if (table.length == frames) {
            // Offsets count from the first fragment's item tag, eight bytes before its value.
            long base = starts[0] - 8;
            int j = 0;
            for (int f = 0; f < frames; f++) {
                if (f > 0 && table[f] <= table[f - 1]) {
                    throw new MalformedDicomException(file, "basic offset table is not"
                            + " increasing at frame " + f);
                }
                while (j < fragments && starts[j] - 8 - base < table[f]) {
                    j++;
                }
                if (j == fragments || starts[j] - 8 - base != table[f]) {
                    throw new MalformedDicomException(file, "basic offset table entry for"
                            + " frame " + f + " does not point at a fragment");
                }
                firstFragment[f] = j;
            }
        } else if (fragments == frames) {
            for (int f = 0; f < frames; f++) {
                firstFragment[f] = f;
            }
        } else {
            int f = 0;
            for (int j = 0; j < fragments && f <= frames; j++) {
                if (opensFrame(parsed.source(), starts[j], lengths[j], syntax)) {
                    if (f < frames) {
                        firstFragment[f] = j;
                    }
                    f++;
                }
            }
            if (f != frames || firstFragment[0] != 0) {
                throw new MalformedDicomException(file, "cannot tell which of the " + fragments
                        + " fragments belong to which of the " + frames + " frames");
            }
        }

        byte[][] frameBytes = new byte[frames][];
        for (int f = 0; f < frames; f++) {
            long size = 0;
            for (int j = firstFragment[f]; j < firstFragment[f + 1]; j++) {
                size += lengths[j];
            }
            if (size > Integer.MAX_VALUE - 64) {
                throw new MalformedDicomException(file, "frame " + f + " is over 2 GiB");
            }
            byte[] bytes = new byte[(int) size];
            int at = 0;
            for (int j = firstFragment[f]; j < firstFragment[f + 1]; j++) {
                MemorySegment.copy(parsed.source(), ValueLayout.JAVA_BYTE, starts[j], bytes, at,
                        (int) lengths[j]);
                at += (int) lengths[j];
            }
            frameBytes[f] = bytes;
        }
        return frameBytes;
    }

    /** JPEG frames open with SOI (FFD8), JPEG 2000 codestreams with SOC (FF4F). */
    private static boolean opensFrame(MemorySegment source, long start, long length,
            String syntax) {
        if (length < 2 || syntax.equals(TransferSyntax.RLE_LOSSLESS)) {
            return false;
        }
        int b0 = source.get(ValueLayout.JAVA_BYTE, start) & 0xFF;
        int b1 = source.get(ValueLayout.JAVA_BYTE, start + 1) & 0xFF;
        boolean jpeg2000 = syntax.equals(TransferSyntax.JPEG_2000)
                || syntax.equals(TransferSyntax.JPEG_2000_LOSSLESS);
        return b0 == 0xFF && b1 == (jpeg2000 ? 0x4F : 0xD8);
    }
}
