package dev.lumbar.engine.io;

import dev.lumbar.engine.LimitExceededException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Says in words why a file operation failed. The message of a {@link FileSystemException} is
 * the path it met, which tells a user nothing they did not type and, for a study's files, may
 * carry a patient's name; so the words come from the exception's kind or its reason alone.
 */
public final class IoProblems {

    private IoProblems() {}

    /**
     * The reason, e.g. "permission denied" or "a part of the path is a file, not a folder".
     * {@code missing} is what a path that does not exist means where the caller met it:
     * "no such file" when reading a file, "its folder does not exist" when writing one.
     */
    public static String reason(IOException e, String missing) {
        if (e instanceof LimitExceededException) {
            // its message is the path, then the limit and how to raise it: keep the latter
            String text = e.getMessage();
            int after = text.indexOf(": ");
            return after < 0 ? text : text.substring(after + 2);
        }
        if (e instanceof NoSuchFileException) {
            return missing;
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NotDirectoryException) {
            return "a part of the path is a file, not a folder";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "a file or folder of that name is in the way";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "a non-empty folder of that name is in the way";
        }
        if (e instanceof FileSystemException fse) {
            // the operating system's words, e.g. "No space left on device"
            String reason = fse.getReason();
            if (reason == null) {
                return "cannot be used";
            }
            return switch (reason) {
                case "Not a directory" -> "a part of the path is a file, not a folder";
                case "Is a directory" -> "a folder, not a file";
                default -> reason;
            };
        }
        // other failures (a stream cut short, bytes that are not text) say what they are in
        // their message, unless it is a path
        String message = e.getMessage();
        return message == null || message.contains("/") || message.contains("\\")
                ? e.getClass().getSimpleName() : message;
    }
}
