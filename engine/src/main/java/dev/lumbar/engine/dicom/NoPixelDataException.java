package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/** The file parsed but holds no image: no Pixel Data element, or no Rows/Columns for it. */
public class NoPixelDataException extends DicomException {

    public NoPixelDataException(Path file, String problem) {
        super(file, problem);
    }
}
