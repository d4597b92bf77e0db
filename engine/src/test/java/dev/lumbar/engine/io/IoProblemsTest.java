package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The words {@link IoProblems} finds for each kind of failure, and never the path itself. */
class IoProblemsTest {

    private static final String PATH = "/studies/DOE^JANE/1.2.3/image.dcm";

    @Test
    void eachKindOfFailureHasItsWords() {
        assertEquals("no such file", IoProblems.reason(new NoSuchFileException(PATH),
                "no such file"));
        assertEquals("its folder does not exist", IoProblems.reason(
                new NoSuchFileException(PATH), "its folder does not exist"));
        assertEquals("permission denied", IoProblems.reason(new AccessDeniedException(PATH),
                "-"));
        assertEquals("a part of the path is a file, not a folder",
                IoProblems.reason(new NotDirectoryException(PATH), "-"));
        assertEquals("a file or folder of that name is in the way",
                IoProblems.reason(new FileAlreadyExistsException(PATH), "-"));
        assertEquals("a non-empty folder of that name is in the way",
                IoProblems.reason(new DirectoryNotEmptyException(PATH), "-"));
    }

    @Test
    void theOperatingSystemsReasonIsKeptOrPutInPlainerWords() {
        assertEquals("No space left on device", IoProblems.reason(
                new FileSystemException(PATH, null, "No space left on device"), "-"));
        assertEquals("a part of the path is a file, not a folder", IoProblems.reason(
                new FileSystemException(PATH, null, "Not a directory"), "-"));
        assertEquals("a folder, not a file", IoProblems.reason(
                new FileSystemException(PATH, null, "Is a directory"), "-"));
        assertEquals("cannot be used", IoProblems.reason(new FileSystemException(PATH), "-"));
    }

    @Test
    void aMessageThatIsAPathIsNeverRepeated() {
        assertEquals("IOException", IoProblems.reason(new IOException(PATH), "-"));
        assertEquals("IOException", IoProblems.reason(new IOException("C:\\a\\b.dcm"), "-"));
        assertEquals("EOFException", IoProblems.reason(new EOFException(), "-"));
        assertEquals("stream closed early", IoProblems.reason(
                new EOFException("stream closed early"), "-"));
    }

    @Test
    void aLimitKeepsItsWordsWithoutThePath() {
        assertEquals("file size in bytes is 9, over the limit of 8 (raise it with"
                + " -Dlumbar.limit.textFileBytes=...)", IoProblems.reason(
                        new dev.lumbar.engine.LimitExceededException(PATH + ": file size in"
                                + " bytes is 9, over the limit of 8 (raise it with"
                                + " -Dlumbar.limit.textFileBytes=...)"), "-"));
    }

    @Test
    void realFailuresFromTheFileSystem(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("a"), "x");
        IOException underFile = null;
        try {
            Files.createDirectories(file.resolve("b"));
        } catch (IOException e) {
            underFile = e;
        }
        assertEquals("a part of the path is a file, not a folder",
                IoProblems.reason(underFile, "-"));
        IOException missing = null;
        try {
            Files.readAllBytes(dir.resolve("nope"));
        } catch (IOException e) {
            missing = e;
        }
        assertEquals("no such file", IoProblems.reason(missing, "no such file"));
    }
}
