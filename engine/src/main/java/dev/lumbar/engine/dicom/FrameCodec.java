package dev.lumbar.engine.dicom;

import java.nio.file.Path;

/** Decodes the compressed bytes of one frame into a {@link FrameSink}. */
interface FrameCodec extends AutoCloseable {

    void decode(Path file, byte[] frame, int frameIndex, PixelFormat format, FrameSink sink)
            throws DicomException;

    @Override
    default void close() {
    }
}
