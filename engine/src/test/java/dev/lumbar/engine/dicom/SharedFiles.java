package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared DICOM test files; tests that need them skip when they are not there. */
final class SharedFiles {

    private SharedFiles() {
    }

    static Path dicomDir() {
        String shared = System.getProperty("lumbar.shared.dir");
        assumeTrue(shared != null, "system property lumbar.shared.dir not set");
        Path dir = Path.of(shared, "data", "dicom");
        assumeTrue(Files.isDirectory(dir), "no shared DICOM files at " + dir);
        return dir;
    }
}
