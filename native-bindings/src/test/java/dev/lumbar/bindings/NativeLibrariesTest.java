package dev.lumbar.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery over folder trees made here; no library is opened. */
class NativeLibrariesTest {

    @TempDir
    Path root;

    private Path touch(String relative) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.createFile(file);
        return file;
    }

    @Test
    void perLibraryOverrideWinsOverEverythingElse() throws IOException {
        Path named = touch("custom/libcudnn.so.9");
        touch("cuda/libcudnn.so.9");
        touch("system/libcudnn.so.9");
        NativeLibraries libraries = new NativeLibraries(Map.of("LUMBAR_CUDNN", named.toString(),
                "LUMBAR_CUDA_LIB_DIR", root.resolve("cuda").toString()),
                List.of(root.resolve("system")), List.of());

        NativeLibraries.Located located = libraries.locate(Library.CUDNN);

        assertEquals(named, located.path().orElseThrow());
        assertEquals("LUMBAR_CUDNN", located.how());
    }

    @Test
    void overrideMayNameAFolder() throws IOException {
        Path file = touch("wheel/lib/libcublas.so.12");
        NativeLibraries libraries = new NativeLibraries(
                Map.of("LUMBAR_CUBLAS", root.resolve("wheel/lib").toString()), List.of(),
                List.of());

        assertEquals(file, libraries.locate(Library.CUBLAS).path().orElseThrow());
    }

    @Test
    void overrideNamingAMissingFileIsReportedNotReplaced() throws IOException {
        touch("system/libcudnn.so.9");
        NativeLibraries libraries = new NativeLibraries(
                Map.of("LUMBAR_CUDNN", root.resolve("nowhere/libcudnn.so.9").toString()),
                List.of(root.resolve("system")), List.of());

        NativeLibraries.Located located = libraries.locate(Library.CUDNN);

        assertFalse(located.found());
        assertTrue(located.how().contains("does not exist"), located.how());
        assertFalse(libraries.open(Library.CUDNN).ok());
    }

    @Test
    void cudaLibDirIsSearchedBeforeSystemFolders() throws IOException {
        Path preferred = touch("cuda/libcublas.so.13");
        touch("system/libcublas.so.12");
        NativeLibraries libraries = new NativeLibraries(
                Map.of("LUMBAR_CUDA_LIB_DIR", root.resolve("cuda").toString()),
                List.of(root.resolve("system")), List.of());

        assertEquals(preferred, libraries.locate(Library.CUBLAS).path().orElseThrow());
    }

    @Test
    void newerVersionIsPreferredInOneFolder() throws IOException {
        touch("system/libcublas.so.12");
        Path newer = touch("system/libcublas.so.13");
        NativeLibraries libraries = new NativeLibraries(Map.of(),
                List.of(root.resolve("system")), List.of());

        assertEquals(newer, libraries.locate(Library.CUBLAS).path().orElseThrow());
    }

    @Test
    void ldLibraryPathFoldersAreSearched() throws IOException {
        Path file = touch("ld/second/libcudart.so.12");
        NativeLibraries libraries = new NativeLibraries(Map.of("LD_LIBRARY_PATH",
                root.resolve("ld/first") + ":" + root.resolve("ld/second")), List.of(),
                List.of());

        NativeLibraries.Located located = libraries.locate(Library.CUDA_RUNTIME);

        assertEquals(file, located.path().orElseThrow());
        assertEquals("LD_LIBRARY_PATH", located.how());
    }

    @Test
    void pythonVirtualEnvironmentNvidiaWheelsAreFound() throws IOException {
        Path cudnn = touch("venv/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        Path cublas = touch(
                "venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12");
        NativeLibraries libraries = new NativeLibraries(Map.of(), List.of(),
                List.of(root.resolve("venv")));

        assertEquals(cudnn, libraries.locate(Library.CUDNN).path().orElseThrow());
        assertEquals(cublas, libraries.locate(Library.CUBLAS).path().orElseThrow());
        assertEquals("Python site-packages", libraries.locate(Library.CUDNN).how());
    }

    @Test
    void driverIsNeverTakenFromAPythonEnvironment() throws IOException {
        touch("venv/lib/python3.12/site-packages/nvidia/driver/lib/libcuda.so.1");
        NativeLibraries libraries = new NativeLibraries(Map.of(), List.of(),
                List.of(root.resolve("venv")));

        assertFalse(libraries.locate(Library.CUDA_DRIVER).found());
    }

    @Test
    void cublasLtIsFoundBesideTheNamedCublas() throws IOException {
        Path cublas = touch("wheel/libcublas.so.12");
        Path lt = touch("wheel/libcublasLt.so.12");
        NativeLibraries libraries = new NativeLibraries(
                Map.of("LUMBAR_CUBLAS", cublas.toString()), List.of(), List.of());

        assertEquals(lt, libraries.locate(Library.CUBLAS_LT).path().orElseThrow());
    }

    @Test
    void missingLibrarySaysWhereItLookedAndHowToPointAtIt() {
        NativeLibraries libraries = new NativeLibraries(Map.of(),
                List.of(root.resolve("a"), root.resolve("b")), List.of());

        NativeLibraries.Located located = libraries.locate(Library.CUDNN);

        assertFalse(located.found());
        assertEquals(List.of(root.resolve("a"), root.resolve("b")), located.tried());
        assertTrue(located.how().contains("LUMBAR_CUDNN"), located.how());
        assertTrue(located.how().contains("libcudnn.so.9"), located.how());
    }
}
