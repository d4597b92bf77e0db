package dev.lumbar.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file so that readers see either the old content or the complete new one: the
 * content goes to a temporary file in the same folder (same file system, so the rename is
 * atomic), is forced to disk, and is renamed over the target. A failure leaves the target as
 * it was and removes the temporary file. A symbolic link is written through (the file it leads
 * to is replaced, the link kept); a target that is not a regular file is refused, because the
 * rename would put a plain file in place of a device, pipe or folder.
 */
public final class AtomicFile {

    /** Writes the content of the new file into an open channel positioned at 0. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel channel) throws IOException;
    }

    private AtomicFile() {
    }

    /**
     * The path that replacing {@code file} renames onto: {@code file} itself, or the file a
     * symbolic link leads to. Refuses, naming {@code file}, a link to nothing and anything
     * there that is not a regular file; a file that does not exist yet is fine.
     */
    public static Path replaceable(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        if (Files.isSymbolicLink(target)) {
            try {
                target = target.toRealPath();
            } catch (NoSuchFileException e) {
                throw new IOException(file + ": is a symbolic link to a file that does not"
                        + " exist; name a regular file to write");
            }
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)
                && !Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(file + ": " + (Files.isDirectory(target)
                    ? "is a folder" : "is not a regular file (a device, pipe or socket)")
                    + "; name a regular file to write, which is replaced whole");
        }
        return target;
    }

    public static void write(Path file, Content content) throws IOException {
        Path target = replaceable(file);
        Temporary temporary = createTemporary(target);
        Path temp = temporary.path();
        try {
            try (FileChannel channel = temporary.channel()) {
                content.writeTo(channel);
                channel.force(true);
            }
            keepPermissions(target, temp);
            // LIMITATION: the folder is not forced to disk after the rename, so a power loss just
            // then can leave the previous file in place (never a partial one).
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(target + ": this file system cannot rename atomically",
                        e);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** A temporary file and the channel that writes it. */
    private record Temporary(Path path, FileChannel channel) { }

    /**
     * A new temporary file beside {@code target}, opened for writing. Created like any new
     * file, so that its mode is what the user's umask allows (temporary-file helpers make it
     * readable by its owner alone, and a renamed report would keep that).
     */
    private static Temporary createTemporary(Path target) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path temp = target.resolveSibling("." + target.getFileName() + "."
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            try {
                return new Temporary(temp, FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE));
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) {
                    throw e;
                }
            }
        }
    }

    /** A file replaced keeps its mode; a new one keeps the mode it was created with. */
    private static void keepPermissions(Path target, Path temp) throws IOException {
        if (Files.exists(target) && Files.getFileStore(temp)
                .supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(temp, Files.getPosixFilePermissions(target));
        }
    }

    /** Replaces {@code file} with exactly {@code bytes}. */
    public static void write(Path file, byte[] bytes) throws IOException {
        write(file, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    /** Writes all remaining bytes of {@code buffer}, however many calls that takes. */
    static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
