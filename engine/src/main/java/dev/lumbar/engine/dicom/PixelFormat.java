package dev.lumbar.engine.dicom;

import dev.lumbar.engine.Limits;
import java.nio.file.Path;

/**
 * The Image Pixel module attributes that say how to read stored values, validated against each
 * other before any pixel is touched.
 */
record PixelFormat(int frames, int rows, int columns, int samplesPerPixel, int bitsAllocated,
        int bitsStored, int highBit, boolean signed, int planarConfiguration,
        String photometricInterpretation) {

    /** A frame larger than this many samples is refused (Java arrays stop at 2^31). */
    static final long MAX_SAMPLES = Integer.MAX_VALUE - 64;

    static PixelFormat of(Path file, DicomObject header) throws DicomException {
        int rows = header.getInt(Tag.Rows, -1);
        int columns = header.getInt(Tag.Columns, -1);
        if (rows <= 0 || columns <= 0) {
            throw new MalformedDicomException(file, "pixel data present but Rows/Columns"
                    + " missing or not positive (" + rows + " x " + columns + ")");
        }
        int samples = header.getInt(Tag.SamplesPerPixel, 1);
        if (samples < 1 || samples > 4) {
            throw new MalformedDicomException(file, "SamplesPerPixel " + samples
                    + " is not 1 to 4");
        }
        int allocated = header.getInt(Tag.BitsAllocated, -1);
        if (allocated != 8 && allocated != 16 && allocated != 32) {
            // LIMITATION: 1-bit (bit-packed) and other unusual allocations are refused.
            throw new MalformedDicomException(file, allocated < 0 ? "BitsAllocated missing"
                    : "BitsAllocated " + allocated + " is not supported (8, 16 or 32 only)");
        }
        int stored = header.getInt(Tag.BitsStored, allocated);
        if (stored < 1 || stored > allocated) {
            throw new MalformedDicomException(file, "BitsStored " + stored
                    + " does not fit BitsAllocated " + allocated);
        }
        int highBit = header.getInt(Tag.HighBit, stored - 1);
        if (highBit < stored - 1 || highBit >= allocated) {
            // Seen in the wild with HighBit = BitsStored; the usual layout is the safe reading.
            highBit = stored - 1;
        }
        int representation = header.getInt(Tag.PixelRepresentation, 0);
        int frames = header.getInt(Tag.NumberOfFrames, 1);
        if (frames < 1) {
            frames = 1;
        }
        int planar = header.getInt(Tag.PlanarConfiguration, 0);
        String photometric = header.getString(Tag.PhotometricInterpretation);
        if (photometric == null || photometric.isEmpty()) {
            photometric = samples == 1 ? "MONOCHROME2" : "RGB";
        }
        Limits limits = Limits.current();
        if ((long) rows * columns > limits.imagePixels()) {
            throw new DicomException(file, "image too large: " + Limits.exceeded("frame size in"
                    + " pixels (" + rows + " x " + columns + ")", (long) rows * columns,
                    limits.imagePixels(), "imagePixels"));
        }
        // LIMITATION: numeric attributes (NumberOfFrames here, BitsAllocated, RescaleSlope...)
        // are echoed as numbers when out of range, without checking them against the file's
        // identifying values; a patient ID of digits written into one would be shown.
        if (frames > limits.framesPerFile()) {
            throw new DicomException(file, Limits.exceeded("NumberOfFrames", frames,
                    limits.framesPerFile(), "framesPerFile"));
        }
        long total = (long) frames * rows * columns * samples;
        if (total > MAX_SAMPLES) {
            throw new MalformedDicomException(file, "image of " + frames + " x " + rows + " x "
                    + columns + " x " + samples + " samples is too large");
        }
        return new PixelFormat(frames, rows, columns, samples, allocated, stored, highBit,
                representation == 1, planar == 1 ? 1 : 0, photometric);
    }

    int samplesPerFrame() {
        return rows * columns * samplesPerPixel;
    }

    long totalSamples() {
        return (long) frames * samplesPerFrame();
    }

    /** Whether a stored value fits a Java short after masking and sign extension. */
    boolean fitsShort() {
        return bitsStored <= 16;
    }

    /** Masks a raw allocated unit to its stored bits and sign-extends it when signed. */
    int storedValue(int raw) {
        int shifted = raw >>> (highBit + 1 - bitsStored);
        if (bitsStored == 32) {
            return shifted;
        }
        int value = shifted & ((1 << bitsStored) - 1);
        if (signed && (value & (1 << (bitsStored - 1))) != 0) {
            value |= -1 << bitsStored;
        }
        return value;
    }
}
