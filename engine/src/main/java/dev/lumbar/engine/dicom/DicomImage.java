package dev.lumbar.engine.dicom;

/**
 * Decoded pixel data of one file: stored values only. Rescale slope and intercept, VOI windows
 * and MONOCHROME1 inversion are left to the caller, who reads them from {@link #header()}.
 */
public interface DicomImage {

    DicomObject header();

    int frames();

    int rows();

    int columns();

    int samplesPerPixel();

    int bitsAllocated();

    int bitsStored();

    /** Whether stored values are two's complement (PixelRepresentation 1). */
    boolean signed();

    String photometricInterpretation();

    /** One stored value, masked to BitsStored and sign-extended when signed. */
    int storedValue(int frame, int row, int col, int sample);

    /**
     * Copies one frame's stored values into {@code dst} as float: row-major, samples of a pixel
     * interleaved (whatever the file's planar configuration). {@code dst} must hold at least
     * {@code rows * columns * samplesPerPixel} values.
     */
    void readFrame(int frame, float[] dst);
}
