package dev.lumbar.engine.dicom;

/**
 * Collects decoded frames as stored values. Codecs hand over raw sample values (whatever bit
 * pattern the codec produced); the sink masks them to BitsStored and sign-extends them, so a
 * codec that already returns signed values and one that returns raw patterns agree.
 */
final class FrameSink {

    private final PixelFormat format;
    private final short[] shorts;
    private final int[] ints;

    FrameSink(PixelFormat format) {
        this.format = format;
        int n = (int) format.totalSamples();
        if (format.fitsShort()) {
            shorts = new short[n];
            ints = null;
        } else {
            shorts = null;
            ints = new int[n];
        }
    }

    /** Stores one sample; {@code index} counts interleaved samples within the frame. */
    void put(int frame, int index, int raw) {
        int at = frame * format.samplesPerFrame() + index;
        // Codec output is the stored value itself: bits below BitsStored, no HighBit shift.
        int value = raw;
        int bits = format.bitsStored();
        if (bits < 32) {
            value &= (1 << bits) - 1;
            if (format.signed() && (value & (1 << (bits - 1))) != 0) {
                value |= -1 << bits;
            }
        }
        if (shorts != null) {
            shorts[at] = (short) value;
        } else {
            ints[at] = value;
        }
    }

    DecodedImage image(ParsedDataSet header) {
        return new DecodedImage(header, format, shorts, ints);
    }
}
