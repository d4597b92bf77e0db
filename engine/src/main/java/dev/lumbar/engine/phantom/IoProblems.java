package dev.lumbar.engine.phantom;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Says in words why writing a phantom file failed; a bare exception message is often a path. */
final class IoProblems {

    private IoProblems() {}

    /** The reason, e.g. "permission denied" or "a part of the path is a file, not a folder". */
    static String describe(IOException e) {
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
        if (e instanceof NoSuchFileException) {
            return "its folder does not exist";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            String reason = fse.getReason();
            return reason.equals("Not a directory")
                    ? "a part of the path is a file, not a folder" : reason;
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
