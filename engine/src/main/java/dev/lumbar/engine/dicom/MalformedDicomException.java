package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/** The file breaks the encoding rules: truncated, impossible lengths, broken structure. */
public class MalformedDicomException extends DicomException {

    public MalformedDicomException(Path file, String problem) {
        super(file, problem);
    }

    public MalformedDicomException(Path file, String problem, Throwable cause) {
        super(file, problem, cause);
    }
}
