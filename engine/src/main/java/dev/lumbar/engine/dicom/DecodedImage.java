package dev.lumbar.engine.dicom;

import java.util.Objects;

/**
 * Stored values of every frame in one array, frame after frame, row-major, samples of a pixel
 * interleaved. Values that fit 16 bits live in {@code shorts} (unsigned ones read back with
 * {@code & 0xFFFF}), wider ones in {@code ints}; exactly one of the two is set.
 */
final class DecodedImage implements DicomImage {

    private final DicomObject header;
    private final PixelFormat format;
    private final short[] shorts;
    private final int[] ints;
    private final boolean unsignedShorts;

    DecodedImage(DicomObject header, PixelFormat format, short[] shorts, int[] ints) {
        this.header = header;
        this.format = format;
        this.shorts = shorts;
        this.ints = ints;
        this.unsignedShorts = !format.signed();
    }

    @Override
    public DicomObject header() {
        return header;
    }

    @Override
    public int frames() {
        return format.frames();
    }

    @Override
    public int rows() {
        return format.rows();
    }

    @Override
    public int columns() {
        return format.columns();
    }

    @Override
    public int samplesPerPixel() {
        return format.samplesPerPixel();
    }

    @Override
    public int bitsAllocated() {
        return format.bitsAllocated();
    }

    @Override
    public int bitsStored() {
        return format.bitsStored();
    }

    @Override
    public boolean signed() {
        return format.signed();
    }

    @Override
    public String photometricInterpretation() {
        return format.photometricInterpretation();
    }

    @Override
    public int storedValue(int frame, int row, int col, int sample) {
        Objects.checkIndex(frame, format.frames());
        Objects.checkIndex(row, format.rows());
        Objects.checkIndex(col, format.columns());
        Objects.checkIndex(sample, format.samplesPerPixel());
        int index = ((frame * format.rows() + row) * format.columns() + col)
                * format.samplesPerPixel() + sample;
        if (shorts == null) {
            return ints[index];
        }
        return unsignedShorts ? shorts[index] & 0xFFFF : shorts[index];
    }

    @Override
    public void readFrame(int frame, float[] dst) {
        Objects.checkIndex(frame, format.frames());
        int n = format.samplesPerFrame();
        if (dst.length < n) {
            throw new IllegalArgumentException("frame needs " + n + " values, buffer holds "
                    + dst.length);
        }
        int base = frame * n;
        if (shorts == null) {
            for (int i = 0; i < n; i++) {
                dst[i] = ints[base + i];
            }
        } else if (unsignedShorts) {
            for (int i = 0; i < n; i++) {
                dst[i] = shorts[base + i] & 0xFFFF;
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst[i] = shorts[base + i];
            }
        }
    }

    @Override
    public String toString() {
        return format.frames() + " x " + format.rows() + " x " + format.columns() + " x "
                + format.samplesPerPixel() + " " + format.photometricInterpretation() + ", "
                + format.bitsStored() + "/" + format.bitsAllocated() + " bits"
                + (format.signed() ? " signed" : "");
    }
}
