package dev.lumbar.engine.dicom;

import java.io.IOException;
import java.nio.file.Path;

/** A file that could not be read as DICOM; the message names the file and the problem. */
public class DicomException extends IOException {

    private final transient Path file;

    public DicomException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public DicomException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
