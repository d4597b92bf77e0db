package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing a file whole: a regular file is replaced and no temporary file is left; a
 * symbolic link is written through and kept; a folder, a pipe and a link to nothing are
 * refused by name and left as they were.
 */
class AtomicFileTest {

    @TempDir
    Path dir;

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void replacesARegularFileAndLeavesNoTemporaryFile() throws IOException {
        Path file = Files.writeString(dir.resolve("out.csv"), "old");
        AtomicFile.write(file, bytes("new"));
        assertEquals("new", Files.readString(file));
        try (var listing = Files.list(dir)) {
            assertEquals(1, listing.count());
        }
    }

    /**
     * A new file gets the mode any new file of the user's gets (as a plain write would
     * create it), not a temporary file's owner-only mode; a file replaced keeps its mode.
     */
    @Test
    void aNewFileHasTheUsersModeAndAReplacedFileKeepsItsOwn() throws IOException {
        Assumptions.assumeTrue(Files.getFileStore(dir)
                .supportsFileAttributeView("posix"), "needs POSIX permissions");
        Path plain = Files.writeString(dir.resolve("plain.txt"), "x");
        Path written = dir.resolve("new.csv");
        AtomicFile.write(written, bytes("new"));
        assertEquals(Files.getPosixFilePermissions(plain),
                Files.getPosixFilePermissions(written));

        Path shared = Files.writeString(dir.resolve("shared.csv"), "old");
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString("rw-rw-r--");
        Files.setPosixFilePermissions(shared, mode);
        AtomicFile.write(shared, bytes("new"));
        assertEquals(mode, Files.getPosixFilePermissions(shared));
    }

    @Test
    void writesThroughASymbolicLinkAndKeepsTheLink() throws IOException {
        Path real = Files.writeString(Files.createDirectories(dir.resolve("real"))
                .resolve("out.csv"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.csv"), real);
        AtomicFile.write(link, bytes("new"));
        assertTrue(Files.isSymbolicLink(link), "the link is kept");
        assertEquals("new", Files.readString(real));
    }

    @Test
    void refusesAFolderAndALinkToNothing() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("out.csv"));
        IOException e = assertThrows(IOException.class,
                () -> AtomicFile.write(folder, bytes("x")));
        assertEquals(folder + ": is a folder; name a regular file to write, which is replaced"
                + " whole", e.getMessage());

        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.csv"),
                dir.resolve("absent.csv"));
        e = assertThrows(IOException.class, () -> AtomicFile.write(dangling, bytes("x")));
        assertTrue(e.getMessage().startsWith(dangling + ": is a symbolic link to a file that"
                + " does not exist"), e.getMessage());
        assertTrue(Files.isSymbolicLink(dangling));
    }

    @Test
    void refusesAPipeAndLeavesIt() throws IOException, InterruptedException {
        Path fifo = dir.resolve("out.csv");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        Assumptions.assumeTrue(mkfifo.waitFor() == 0, "no mkfifo here");
        IOException e = assertThrows(IOException.class,
                () -> AtomicFile.write(fifo, bytes("x")));
        assertTrue(e.getMessage().startsWith(fifo + ": is not a regular file (a device, pipe"),
                e.getMessage());
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo), "the pipe is still there");
    }
}
