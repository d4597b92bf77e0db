package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.LimitExceededException;
import dev.lumbar.engine.Limits;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Command-line tables read once, whole and bounded, with errors that say why. */
class TextFilesTest {

    @TempDir
    Path dir;

    @AfterEach
    void restoreDefaults() {
        System.clearProperty("lumbar.limit.textFileBytes");
        Limits.reload();
    }

    @Test
    void aMissingFileOrAFolderIsNamedWithTheReason() {
        Path missing = dir.resolve("nope.csv");
        IOException gone = assertThrows(IOException.class,
                () -> TextFiles.read(missing, "the coordinates file"));
        assertEquals(missing + ": cannot read the coordinates file (no such file)",
                gone.getMessage());
        IOException folder = assertThrows(IOException.class,
                () -> TextFiles.read(dir, "the coordinates file"));
        assertEquals(dir + ": cannot read the coordinates file (a folder, not a file)",
                folder.getMessage());
    }

    @Test
    void aFileOverTheLimitIsRefusedHoweverItIsRead() throws Exception {
        Path file = Files.writeString(dir.resolve("big.csv"), "x".repeat(100));
        System.setProperty("lumbar.limit.textFileBytes", "64");
        Limits.reload();
        LimitExceededException e = assertThrows(LimitExceededException.class,
                () -> TextFiles.read(file, "the series CSV"));
        assertTrue(e.getMessage().startsWith(file + ": size in bytes of the series CSV"),
                e.getMessage());
        assertTrue(e.getMessage().contains("lumbar.limit.textFileBytes"), e.getMessage());
    }

    /** A pipe (a shell's {@code <(...)}) is read once: its bytes are what the caller gets. */
    @Test
    void aPipeIsReadWhole() throws Exception {
        Path fifo = dir.resolve("fifo");
        Process make = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(make.waitFor(10, TimeUnit.SECONDS) && make.exitValue() == 0, "mkfifo");
        byte[] content = "study_id,series_id\r\n1,2\n".getBytes(StandardCharsets.UTF_8);
        Thread writer = Thread.ofVirtual().start(() -> {
            try (OutputStream out = Files.newOutputStream(fifo)) {
                out.write(content);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        byte[] read = TextFiles.read(fifo, "the series CSV");
        writer.join();
        assertArrayEquals(content, read);
        assertEquals(List.of("study_id,series_id", "1,2"), TextFiles.lines(read));
    }
}
