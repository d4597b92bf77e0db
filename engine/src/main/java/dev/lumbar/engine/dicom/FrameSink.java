package dev.lumbar.engine.dicom;

/**
 * Collects decoded frames as stored values. Codecs hand over raw sample values (whatever bit
 * pattern the codec produced); the sink masks them to BitsStored and sign-extends them, so a
 * codec that already returns signed values and one that returns raw patterns agree.
 *
 * <p>The arrays are reserved on the first sample, not before: by then the codec has compared the
 * codestream's own size with the header, so a forged Rows and Columns reserves nothing.
 */
final class FrameSink {

    private final PixelFormat format;
    private short[] shorts;
    private int[] ints;
    private boolean reserved;

    FrameSink(PixelFormat format) {
        this.format = format;
    }

    private void reserve() {
        int n = (int) format.totalSamples();
        if (format.fitsShort()) {
            shorts = new short[n];
        } else {
            ints = new int[n];
        }
        reserved = true;
    }

    /** Stores one sample; {@code index} counts interleaved samples within the frame. */
    void put(int frame, int index, int raw) {
        if (!reserved) {
            reserve();
        }
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
        if (!reserved) {
            reserve();
        }
        return new DecodedImage(header, format, shorts, ints);
    }
}
