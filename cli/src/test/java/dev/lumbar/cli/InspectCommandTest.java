package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.phantom.PatientTags;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomSeries;
import dev.lumbar.engine.phantom.PhantomStudy;
import dev.lumbar.engine.phantom.PhantomWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {

    private static final PatientTags CANARY = new PatientTags("CANARYNAME^TWEETY",
            "CANARYID4711", "19230417", "F", "CANARYACC99", "CANARY INSTITUTE",
            "CANARYDOC^SYLVESTER", "CANARYRAD^GRANNY", "CANARYTECH^HECTOR");

    @TempDir
    Path dir;

    /** Runs {@code lumbar args...}; returns exit code, stdout, stderr and every log message. */
    private record Run(int exit, String out, String err, String logs) {
        String all() {
            return out + err + logs;
        }
    }

    private static Run lumbar(String... args) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> logs = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logs.add(new java.util.logging.SimpleFormatter().formatMessage(r));
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        capture.setLevel(Level.ALL);
        Logger root = Logger.getLogger("");
        Level before = root.getLevel();
        root.setLevel(Level.ALL);
        root.addHandler(capture);
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8), String.join("\n", logs));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
            root.removeHandler(capture);
            root.setLevel(before);
        }
    }

    @Test
    void describesEverySeriesWithTypeRuleAndStacks() {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(31));
        PhantomWriter.write(phantom, dir);
        Run run = lumbar("inspect", dir.toString(), "--series-csv",
                dir.resolve(PhantomWriter.SERIES_CSV).toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("study " + phantom.studyId() + ": 3 series, 52 slices"),
                run.out());
        for (PhantomSeries s : phantom.series()) {
            assertTrue(run.out().lines().anyMatch(l -> l.contains(s.seriesId())
                    && l.contains(s.type().name()) && l.contains("by SERIES_CSV")
                    && l.contains("Explicit VR Little Endian")), run.out());
        }
        assertTrue(run.out().contains("20 slices in 5 stacks"), run.out());
        assertTrue(run.out().contains("axial oblique"), run.out());
        assertTrue(run.out().contains("no warnings"), run.out());
    }

    @Test
    void printsNoPatientIdentifierOrUid() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(32)
                .withPatient(CANARY));
        PhantomWriter.write(phantom, dir.resolve("kaggle"));
        // also a non-Kaggle tree, where studies and series are found by UID
        Path flat = dir.resolve("flat");
        Files.createDirectories(flat);
        try (var files = Files.walk(dir.resolve("kaggle").resolve(phantom.studyId()))) {
            int n = 0;
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, flat.resolve("IMG" + n++));
            }
        }
        Files.writeString(flat.resolve("README.txt"), "not DICOM");
        List<String> uids = uidsIn(dir.resolve("kaggle").resolve(phantom.studyId()));
        assertFalse(uids.isEmpty());

        for (Path input : List.of(dir.resolve("kaggle"), flat)) {
            Run run = lumbar("inspect", input.toString(), "--timing");
            assertEquals(0, run.exit(), run.err());
            String all = run.all();
            assertTrue(all.contains("SAG_T1"), all);
            for (String canary : List.of("CANARY", "TWEETY", "SYLVESTER", "GRANNY", "HECTOR",
                    "4711", "19230417")) {
                assertFalse(all.toUpperCase().contains(canary), canary + " leaked:\n" + all);
            }
            for (String uid : uids) {
                assertFalse(all.contains(uid), "a UID leaked:\n" + all);
            }
            assertFalse(all.contains("2.25."), all);
        }
    }

    @Test
    void unreadableInputIsExitCodeTwo() throws Exception {
        assertEquals(2, lumbar("inspect", dir.resolve("missing").toString()).exit());
        Files.writeString(dir.resolve("a.txt"), "hello");
        Run empty = lumbar("inspect", dir.toString());
        assertEquals(2, empty.exit());
        assertTrue(empty.err().contains("no DICOM image"), empty.err());
        Files.writeString(dir.resolve("bad.csv"), "a,b\n1,2\n");
        Run csv = lumbar("inspect", dir.toString(), "--series-csv",
                dir.resolve("bad.csv").toString());
        assertEquals(2, csv.exit());
        assertTrue(csv.err().contains("series_description"), csv.err());
    }

    @Test
    void hugeImageSizeWithTimingNamesTheFileAndExitsTwo() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(33));
        Path written = dir.resolve("p");
        PhantomWriter.write(phantom, written);
        byte[] bytes = Files.readAllBytes(written.resolve(phantom.studyId())
                .resolve(phantom.series().getFirst().seriesId()).resolve("1.dcm"));
        // Rows (0028,0010) and Columns (0028,0011), explicit VR US: the value follows 8 bytes on
        for (int element : new int[] {0x10, 0x11}) {
            byte[] tag = {0x28, 0x00, (byte) element, 0x00, 'U', 'S'};
            int at = indexOf(bytes, tag);
            bytes[at + 8] = (byte) 0xFF;
            bytes[at + 9] = (byte) 0xFF;
        }
        Path big = dir.resolve("big");
        Files.createDirectories(big);
        Files.write(big.resolve("1.dcm"), bytes);
        Run run = lumbar("inspect", "--timing", big.toString());
        assertEquals(2, run.exit(), run.all());
        assertTrue(run.out().contains("cannot decode slice 1.dcm") && run.out().contains(
                "65535 x 65535"), run.out());
        assertTrue(run.err().contains("1 of 1 stacks could not be read"), run.err());
        assertFalse(run.all().contains("Exception"), run.all());
    }

    @Test
    void missingFolderAndUnreadableCsvSayWhy() throws Exception {
        Run missing = lumbar("inspect", dir.resolve("nope").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("nope: no such folder"), missing.err());
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(34)), dir);
        Run csv = lumbar("inspect", "--series-csv", dir.resolve("nope.csv").toString(),
                dir.toString());
        assertEquals(2, csv.exit());
        assertTrue(csv.err().contains("nope.csv: cannot read the series CSV (no such file)"),
                csv.err());
        Path latin1 = dir.resolve("latin1.csv");
        Files.write(latin1, "study_id,series_id,series_description\n1,2,T1 \u00fc\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        Run encoding = lumbar("inspect", "--series-csv", latin1.toString(), dir.toString());
        assertEquals(2, encoding.exit());
        assertTrue(encoding.err().contains("latin1.csv: cannot read the series CSV (not UTF-8"
                + " text)"), encoding.err());
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("tag not found");
    }

    @Test
    void phantomCommandIsReproducible() throws Exception {
        Run first = lumbar("phantom", "--out", dir.resolve("a").toString(), "--seed", "5",
                "--study-id", "demo1");
        assertEquals(0, first.exit(), first.err());
        Run second = lumbar("phantom", "--out", dir.resolve("b").toString(), "--seed", "5",
                "--study-id", "demo1");
        assertEquals(0, second.exit(), second.err());
        Path one = dir.resolve("a").resolve("demo1");
        Path two = dir.resolve("b").resolve("demo1");
        List<Path> files;
        try (var walk = Files.walk(one)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        assertEquals(52, files.size());
        for (Path f : files) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(f),
                    Files.readAllBytes(two.resolve(one.relativize(f)))), f.toString());
        }
        assertEquals(Files.readString(dir.resolve("a").resolve(PhantomWriter.GROUND_TRUTH_CSV)),
                Files.readString(dir.resolve("b").resolve(PhantomWriter.GROUND_TRUTH_CSV)));
    }

    /** Every UID value in the files, found by scanning for the 2.25 root the phantom uses. */
    private static List<String> uidsIn(Path studyDir) throws Exception {
        List<String> uids = new ArrayList<>();
        try (var files = Files.walk(studyDir)) {
            for (Path f : files.filter(Files::isRegularFile).limit(3).toList()) {
                String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                var m = java.util.regex.Pattern.compile("2\\.25\\.[0-9]+").matcher(text);
                while (m.find()) {
                    uids.add(m.group());
                }
            }
        }
        return uids;
    }

    @Test
    void helpListsTheInternalErrorExitCode() {
        String help = CommandRun.lumbar("inspect", "--help").out().replaceAll("\\s+", " ");
        assertTrue(help.contains("1 an internal error"), help);
    }

    @Test
    void withoutTimingASeriesInAnUndecodablePixelFormatIsWarned() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(61));
        Path studyDir = PhantomWriter.write(phantom, dir);
        PhantomSeries broken = phantom.series().getFirst();
        // SamplesPerPixel (0028,0002) US, explicit VR little endian, set to 9 in every file
        byte[] key = {0x28, 0x00, 0x02, 0x00, 'U', 'S', 2, 0};
        try (var files = Files.list(studyDir.resolve(broken.seriesId()))) {
            for (Path f : files.toList()) {
                byte[] bytes = Files.readAllBytes(f);
                int at = -1;
                for (int i = 0; at < 0 && i + key.length + 2 <= bytes.length; i++) {
                    if (java.util.Arrays.equals(bytes, i, i + key.length, key, 0, key.length)) {
                        at = i + key.length;
                    }
                }
                assertTrue(at > 0, f + ": no SamplesPerPixel element");
                bytes[at] = 9;
                bytes[at + 1] = 0;
                Files.write(f, bytes);
            }
        }
        Run run = lumbar("inspect", dir.toString());
        assertEquals(0, run.exit(), run.all());
        assertTrue(run.out().contains("series " + broken.seriesId() + ": type undecided")
                && run.out().contains("SamplesPerPixel 9"), run.out());
    }

    /** A slice that --timing cannot decode is one of its study's warnings, not after "none". */
    @Test
    void withTimingASliceThatCannotBeDecodedIsAmongItsStudysWarnings() throws Exception {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(62));
        Path studyDir = PhantomWriter.write(phantom, dir);
        Path slice = studyDir.resolve(phantom.series().getFirst().seriesId()).resolve("2.dcm");
        // a RescaleSlope (0028,1053) DS of 9e99 in place of "1 ": the scan reads the header
        // without a word, decoding finds the pixel values past the float range
        byte[] bytes = Files.readAllBytes(slice);
        byte[] one = {0x28, 0x00, 0x53, 0x10, 'D', 'S', 2, 0, '1', ' '};
        int at = indexOf(bytes, one);
        assertTrue(at > 0, "no RescaleSlope of 1");
        byte[] huge = {0x28, 0x00, 0x53, 0x10, 'D', 'S', 4, 0, '9', 'e', '9', '9'};
        byte[] edited = new byte[bytes.length + 2];
        System.arraycopy(bytes, 0, edited, 0, at);
        System.arraycopy(huge, 0, edited, at, huge.length);
        System.arraycopy(bytes, at + one.length, edited, at + huge.length,
                bytes.length - at - one.length);
        Files.write(slice, edited);

        Run run = lumbar("inspect", "--timing", dir.toString());

        assertEquals(0, run.exit(), run.all());
        List<String> lines = run.out().lines().toList();
        assertFalse(lines.contains("  no warnings"), run.out());
        int warnings = lines.indexOf("  warnings:");
        int timing = lines.indexOf(lines.stream().filter(l -> l.startsWith("timing:"))
                .findFirst().orElseThrow());
        assertTrue(warnings >= 0 && warnings < timing, run.out());
        assertTrue(lines.subList(warnings, timing).stream()
                .anyMatch(l -> l.startsWith("  - ") && l.contains("2.dcm")), run.out());
    }
}
