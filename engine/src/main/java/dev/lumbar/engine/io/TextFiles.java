package dev.lumbar.engine.io;

import dev.lumbar.engine.LimitExceededException;
import dev.lumbar.engine.Limits;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Tables a user gives on the command line (coordinates, series descriptions) read once, whole
 * and bounded: the bytes parsed are the bytes hashed into a report, also where the path is a
 * pipe that can be read only once, and a file past {@code textFileBytes} is refused before
 * it fills the memory, whatever size the file system claims (a pipe claims none).
 */
public final class TextFiles {

    private TextFiles() {}

    /**
     * The file's bytes. {@code what} names it in errors ("the coordinates file"); every error
     * starts with the path and says why in words: missing, a folder, unreadable, too large.
     */
    public static byte[] read(Path file, String what) throws IOException {
        long limit = Limits.current().textFileBytes();
        if (Files.isDirectory(file)) {
            throw new IOException(file + ": cannot read " + what + " (a folder, not a file)");
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (bytes.length > limit) {
                // read no further than past the limit: a pipe's full length is never known
                throw new LimitExceededException(file + ": " + Limits.exceeded("size in bytes"
                        + " of " + what + " (read up to the limit and one more)",
                        bytes.length, limit, "textFileBytes"));
            }
            return bytes;
        } catch (LimitExceededException e) {
            throw e;
        } catch (IOException e) {
            throw new IOException(file + ": cannot read " + what + " ("
                    + IoProblems.reason(e, "no such file") + ")", e);
        }
    }

    /**
     * {@code bytes} as lines of UTF-8 text, split as {@link Files#readAllLines} splits them;
     * bytes that are not UTF-8 are a {@link CharacterCodingException}.
     */
    public static List<String> lines(byte[] bytes) throws CharacterCodingException {
        return utf8(bytes).lines().toList();
    }

    /** {@code bytes} as UTF-8 text; bytes that are not UTF-8 are refused, not replaced. */
    public static String utf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes)).toString();
    }
}
