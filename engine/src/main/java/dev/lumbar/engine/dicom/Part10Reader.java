package dev.lumbar.engine.dicom;

import dev.lumbar.engine.Limits;
import dev.lumbar.engine.io.IoProblems;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The standard reader. Each call maps the file read-only in a confined arena, parses it and
 * unmaps it before returning, so nothing it returns refers to the file and no mapping outlives
 * the call. A header-only read touches the pages of the header and the fragment item headers,
 * never the pixel values.
 */
final class Part10Reader implements DicomReader {

    @Override
    public DicomObject readHeader(Path file) throws DicomException {
        try (Arena arena = Arena.ofConfined()) {
            return DataSetParser.parse(file, map(file, arena)).header();
        }
    }

    @Override
    public DicomImage read(Path file) throws DicomException {
        try (Arena arena = Arena.ofConfined()) {
            return PixelDecoder.decode(file, DataSetParser.parse(file, map(file, arena)));
        }
    }

    private static MemorySegment map(Path file, Arena arena) throws DicomException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            long limit = Limits.current().dicomFileBytes();
            if (size > limit) {
                throw new DicomException(file, Limits.exceeded("file size in bytes", size, limit,
                        "dicomFileBytes"));
            }
            if (size > Integer.MAX_VALUE) {
                // LIMITATION: files over 2 GiB are refused (their values could not be held).
                throw new DicomException(file, "file is larger than 2 GiB (" + size + " bytes)");
            }
            if (size == 0) {
                throw new MalformedDicomException(file, "file is empty");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (DicomException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new DicomException(file, "no such file", e);
        } catch (IOException e) {
            // the exception's message often is the path itself; the reason alone is shown
            throw new DicomException(file, "cannot read: " + IoProblems.reason(e, "no such file"),
                    e);
        }
    }
}
