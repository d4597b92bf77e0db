package dev.lumbar.cli;

import static dev.lumbar.cli.CommandRun.lumbar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PhantomCommandTest {

    @TempDir
    Path dir;

    @Test
    void birthDateThatIsNoDateIsRefusedWithoutRepeatingIt() {
        for (String date : new String[] {"notadate", "19710230", "1971-04-23"}) {
            CommandRun run = lumbar("phantom", "--out", dir.resolve("p").toString(), "--birth-date",
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
            CommandRun run = lumbar("phantom", "--out", dir.toString(), "--study-id", id);
            assertEquals(2, run.exit(), id);
            assertTrue(run.err().contains("ASCII letters, digits, '_', '-' and '.', not starting"
                    + " with '.'"), run.err());
        }
    }

    @Test
    void writeFailureSaysWhy() throws Exception {
        Path blocker = dir.resolve("blocker");
        Files.writeString(blocker, "a file where a folder is needed");
        CommandRun run = lumbar("phantom", "--out", blocker.toString(), "--study-id", "s1");
        assertEquals(2, run.exit());
        assertTrue(run.err().startsWith("lumbar phantom: cannot write DICOM file "
                + blocker.resolve("s1")), run.err());
        assertTrue(run.err().contains("(a part of the path is a file, not a folder)"),
                run.err());
    }
}
