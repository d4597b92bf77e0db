package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/** The standard reader; its parser is being written. */
final class Part10Reader implements DicomReader {

    @Override
    public DicomObject readHeader(Path file) throws DicomException {
        throw new DicomException(file, "the DICOM parser is not written yet");
    }

    @Override
    public DicomImage read(Path file) throws DicomException {
        throw new DicomException(file, "the DICOM parser is not written yet");
    }
}
