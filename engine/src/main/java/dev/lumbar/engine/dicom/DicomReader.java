package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/** Reads DICOM Part 10 files (and bare data sets without the Part 10 preamble or meta group). */
public interface DicomReader {

    /** Parses every element except pixel data, which is neither decoded nor copied. */
    DicomObject readHeader(Path file) throws DicomException;

    /** Parses the file and decodes its pixel data. */
    DicomImage read(Path file) throws DicomException;

    /** The reader the engine uses: no dependency beyond the JDK and the ImageIO plugins. */
    static DicomReader standard() {
        return new Part10Reader();
    }
}
