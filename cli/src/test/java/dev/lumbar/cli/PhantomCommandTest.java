package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PhantomCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String err) {}

    private static Run lumbar(String... args) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Run(Main.run(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    @Test
    void birthDateThatIsNoDateIsRefusedWithoutRepeatingIt() {
        for (String date : new String[] {"notadate", "19710230", "1971-04-23"}) {
            Run run = lumbar("phantom", "--out", dir.resolve("p").toString(), "--birth-date",
                    date);
            assertEquals(2, run.exit(), date);
            assertTrue(run.err().contains("birth date must be a calendar date written YYYYMMDD"),
                    run.err());
            assertFalse(run.err().contains(date), run.err());
        }
        assertFalse(Files.exists(dir.resolve("p")));
        assertEquals(0, lumbar("phantom", "--out", dir.resolve("ok").toString(), "--birth-date",
                "19710423").exit());
    }

    @Test
    void studyIdRefusalSaysWhatIsAllowed() {
        for (String id : new String[] {"my study \u00fc", "..", "a/b"}) {
            Run run = lumbar("phantom", "--out", dir.toString(), "--study-id", id);
            assertEquals(2, run.exit(), id);
            assertTrue(run.err().contains("ASCII letters, digits, '_', '-' and '.', not starting"
                    + " with '.'"), run.err());
        }
    }

    @Test
    void writeFailureSaysWhy() throws Exception {
        Path blocker = dir.resolve("blocker");
        Files.writeString(blocker, "a file where a folder is needed");
        Run run = lumbar("phantom", "--out", blocker.toString(), "--study-id", "s1");
        assertEquals(2, run.exit());
        assertTrue(run.err().startsWith("lumbar phantom: cannot write DICOM file "
                + blocker.resolve("s1")), run.err());
        assertTrue(run.err().contains("(a part of the path is a file, not a folder)"),
                run.err());
    }
}
