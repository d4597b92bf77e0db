package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/**
 * The top-level data set of one file: its elements, looked up by tag ({@code group << 16 |
 * element}, see {@link Tag}). Values of nested sequences are not exposed.
 */
public interface DicomObject {

    /** The value as text, trimmed, multiple values joined by a backslash; null when absent. */
    String getString(int tag);

    /**
     * The value as numbers: decimal and integer strings (DS, IS) parsed, binary numbers (FD, FL,
     * US, SS, UL, SL) read in the file's byte order; null when absent or not numeric.
     */
    double[] getDoubles(int tag);

    /** The first numeric value, or {@code dflt} when absent or not numeric. */
    int getInt(int tag, int dflt);

    /** Whether the element is present; true for Pixel Data too, whose value is not held. */
    boolean contains(int tag);

    /** The transfer syntax the data set was read with (from the meta group, or sniffed). */
    String transferSyntaxUid();

    Path file();
}
