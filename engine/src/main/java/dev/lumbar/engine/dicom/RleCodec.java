package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/**
 * RLE Lossless (PS3.5 G): a 64-byte header of segment count and offsets, then one PackBits
 * segment per byte plane: for each sample, its most significant byte first.
 */
final class RleCodec implements FrameCodec {

    private static final int HEADER_BYTES = 64;

    private byte[] plane = new byte[0];

    @Override
    public void decode(Path file, byte[] frame, int frameIndex, PixelFormat format,
            FrameSink sink) throws DicomException {
        if (frame.length < HEADER_BYTES) {
            throw malformed(file, frameIndex, "is shorter than the RLE header");
        }
        int bytesPerSample = format.bitsAllocated() / 8;
        int samples = format.samplesPerPixel();
        int segments = u32(frame, 0);
        if (segments != bytesPerSample * samples) {
            throw malformed(file, frameIndex, "has " + segments + " RLE segments, expected "
                    + bytesPerSample * samples);
        }
        int pixels = format.rows() * format.columns();
        // PackBits encodes at most 128 bytes in 2, so a segment is at least this long; a
        // shorter frame is refused before anything is reserved for the pixels it claims
        long shortest = (long) segments * 2 * ((pixels + 127L) / 128);
        if (frame.length - HEADER_BYTES < shortest) {
            throw malformed(file, frameIndex, "holds " + (frame.length - HEADER_BYTES)
                    + " bytes of RLE data, too few for " + format.rows() + " x "
                    + format.columns() + " pixels (at least " + shortest + ")");
        }
        if (plane.length < pixels) {
            plane = new byte[pixels];
        }

        // Values are built up byte plane by byte plane, most significant plane first.
        int[] values = new int[pixels * samples];
        for (int s = 0; s < segments; s++) {
            int start = u32(frame, 4 + 4 * s);
            int end = s + 1 < segments ? u32(frame, 8 + 4 * s) : frame.length;
            if (start < HEADER_BYTES || end > frame.length || start > end) {
                throw malformed(file, frameIndex, "has RLE segment " + s + " outside the frame");
            }
            unpack(file, frameIndex, s, frame, start, end, pixels);
            int sample = s / bytesPerSample;
            for (int p = 0; p < pixels; p++) {
                int at = p * samples + sample;
                values[at] = values[at] << 8 | (plane[p] & 0xFF);
            }
        }
        for (int i = 0; i < values.length; i++) {
            sink.put(frameIndex, i, values[i]);
        }
    }

    /** PackBits: n >= 0 copies n+1 literal bytes, -127..-1 repeats the next byte 1-n times. */
    private void unpack(Path file, int frameIndex, int segment, byte[] in, int pos, int end,
            int pixels) throws DicomException {
        int out = 0;
        while (out < pixels) {
            if (pos >= end) {
                throw malformed(file, frameIndex, "has RLE segment " + segment + " ending after "
                        + out + " of " + pixels + " bytes");
            }
            int n = in[pos++];
            if (n >= 0) {
                int count = Math.min(n + 1, pixels - out);
                if (end - pos < count) {
                    throw malformed(file, frameIndex, "has a literal run past the end of RLE"
                            + " segment " + segment);
                }
                System.arraycopy(in, pos, plane, out, count);
                pos += n + 1;
                out += count;
            } else if (n != -128) {
                if (pos >= end) {
                    throw malformed(file, frameIndex, "has a repeat run past the end of RLE"
                            + " segment " + segment);
                }
                int count = Math.min(1 - n, pixels - out);
                java.util.Arrays.fill(plane, out, out + count, in[pos++]);
                out += count;
            }
        }
    }

    private static int u32(byte[] b, int at) {
        long value = (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16
                | (b[at + 3] & 0xFFL) << 24;
        return value > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) value;
    }

    private static MalformedDicomException malformed(Path file, int frame, String problem) {
        return new MalformedDicomException(file, "frame " + frame + " " + problem);
    }
}
