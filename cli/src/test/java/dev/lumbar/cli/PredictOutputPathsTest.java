package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unusable output paths and empty input stop {@code lumbar predict} with exit 2 before any
 * network is loaded. The model named here does not exist: a run that reached the model would
 * say so instead of naming the output path.
 */
class PredictOutputPathsTest {

    @TempDir
    Path work;

    private CommandRun predict(Path out, Path reports) throws IOException {
        Path input = Files.createDirectories(work.resolve("in"));
        return CommandRun.lumbar("predict", "--input", input.toString(), "--model",
                work.resolve("absent.ensemble.json").toString(), "--out", out.toString(),
                "--report-dir", reports.toString(), "--threads", "1");
    }

    @Test
    void anOutThatIsAFolderIsRefusedByName() throws IOException {
        Path out = Files.createDirectories(work.resolve("out/s.csv"));
        CommandRun run = predict(out, work.resolve("out/reports"));

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains("--out " + out + " is a folder"), run.err());
        assertFalse(Files.exists(work.resolve("out/s.csv.partial")));
        assertFalse(Files.exists(work.resolve("out/reports")), "nothing is created");
    }

    /** A rename onto a pipe or device would put a plain file in its place: refused first. */
    @Test
    void anOutThatIsAPipeIsRefusedAndLeftAsItIs() throws IOException, InterruptedException {
        Path fifo = work.resolve("s.csv");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mkfifo.waitFor() == 0, "no mkfifo here");
        CommandRun run = predict(fifo, work.resolve("reports"));

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains("--out " + fifo + ": is not a regular file"), run.err());
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo), "the pipe is still there");
        assertFalse(Files.exists(work.resolve("reports")), "nothing is created");
    }

    @Test
    void aFileInPlaceOfTheOutFolderIsNamed() throws IOException {
        Path file = Files.writeString(work.resolve("afile"), "x");
        CommandRun run = predict(file.resolve("s.csv"), work.resolve("reports"));

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains(file + " is a file, so no folder can be made there"),
                run.err());
        assertFalse(Files.exists(work.resolve("reports")), "nothing is created");
    }

    @Test
    void aReportDirThatIsAFileIsNamedAndNoOutputFolderIsLeft() throws IOException {
        Path reports = Files.writeString(work.resolve("reports"), "x");
        CommandRun run = predict(work.resolve("out/s.csv"), reports);

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains("--report-dir " + reports + " is a file, not a folder"),
                run.err());
        assertFalse(Files.exists(work.resolve("out")), "no empty output folder is left");
    }

    /** Refused before the ensemble, not after every study has been read and graded. */
    @Test
    void aReadOnlyOutputFolderIsRefusedFirst() throws IOException {
        Path locked = Files.createDirectories(work.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            org.junit.jupiter.api.Assumptions.assumeFalse(Files.isWritable(locked),
                    "this user may write into a read-only folder (root)");
            CommandRun run = predict(locked.resolve("s.csv"), work.resolve("reports"));

            assertEquals(Main.BAD_INPUT, run.exit(), run.err());
            assertTrue(run.err().contains("--out " + locked.resolve("s.csv") + ": the folder "
                    + locked + " is not writable"), run.err());
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /** A device is checked by its spelling before anything is read; cuda:N is a spelling. */
    @Test
    void aMisspeltDeviceIsRefusedFirstAndCudaWithAnOrdinalIsAccepted() throws IOException {
        Path input = Files.createDirectories(work.resolve("in"));
        CommandRun tpu = CommandRun.lumbar("predict", "--input", input.toString(), "--model",
                work.resolve("absent.ensemble.json").toString(), "--device", "tpu");
        assertEquals(Main.BAD_INPUT, tpu.exit(), tpu.err());
        assertEquals("lumbar predict: --device 'tpu': expected auto, cpu, cuda or cuda:N",
                tpu.err().strip());

        CommandRun ordinal = CommandRun.lumbar("predict", "--input", input.toString(),
                "--model", work.resolve("absent.ensemble.json").toString(), "--device",
                "cuda:0");
        assertEquals(Main.BAD_INPUT, ordinal.exit(), ordinal.err());
        assertTrue(ordinal.err().contains("absent.ensemble.json"), ordinal.err());
    }

    /** Spaces around a device are refused, as around a number, not taken as the device. */
    @Test
    void aDeviceWithSpacesAroundItIsRefusedAsAnUnknownDevice() throws IOException {
        Path input = Files.createDirectories(work.resolve("in"));
        for (String device : List.of(" cpu ", "auto ", " cuda:0")) {
            CommandRun run = CommandRun.lumbar("predict", "--input", input.toString(),
                    "--model", work.resolve("absent.ensemble.json").toString(), "--device",
                    device);
            assertEquals(Main.BAD_INPUT, run.exit(), run.err());
            assertEquals("lumbar predict: --device '" + device + "': expected auto, cpu, cuda"
                    + " or cuda:N", run.err().strip());
        }
    }

    @Test
    void noStudiesFoundIsUnusableInput() throws IOException {
        Path input = Files.createDirectories(work.resolve("empty"));
        CommandRun run = CommandRun.lumbar("predict", "--input", input.toString(), "--model",
                Path.of("..", "weights", "demo", "demo.ensemble.json").toString(), "--out",
                work.resolve("out/s.csv").toString(), "--report-dir",
                work.resolve("out/reports").toString(), "--threads", "1");

        assertEquals(Main.BAD_INPUT, run.exit(), run.err());
        assertTrue(run.err().contains("no DICOM studies found"), run.err());
        assertFalse(run.out().contains("networks loaded"), run.out());
        assertFalse(Files.exists(work.resolve("out/s.csv")), "no header-only submission");
    }

    @Test
    void helpListsEveryExitCode() {
        CommandRun run = CommandRun.lumbar("predict", "--help");
        String help = run.out().replaceAll("\\s+", " ");
        assertTrue(help.contains("0 every study graded, 1 an internal error"), help);
        assertTrue(help.contains("3 some studies failed"), help);
        assertEquals("1 study", PredictCommand.count(1, "study", "studies"));
        assertEquals("2 studies", PredictCommand.count(2, "study", "studies"));
    }
}
