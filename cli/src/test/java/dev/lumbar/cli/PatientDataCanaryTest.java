package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No patient data out: studies whose every identifying element holds a canary go through
 * {@code lumbar inspect} and {@code lumbar predict} (successes, damaged files, failed and
 * timed-out studies, a broken ensemble, {@code --verbose}, {@code --resume}); then stdout,
 * stderr, every log record at every level (System.Logger goes to java.util.logging), and every
 * file the commands wrote are searched for every canary.
 */
class PatientDataCanaryTest {

    private static final Path DEMO_MANIFEST = Path.of("..", "weights", "demo",
            "demo.ensemble.json");

    @TempDir
    static Path dir;

    private static final List<String> transcripts = new ArrayList<>();
    private static final CapturingHandler logs = new CapturingHandler();
    private static Level oldRootLevel;
    private static Path kaggle;
    private static Path flat;

    /** Every log record, formatted with its parameters and stack trace, as a handler sees it. */
    private static final class CapturingHandler extends Handler {
        private final StringBuilder text = new StringBuilder();
        private final SimpleFormatter formatter = new SimpleFormatter();
        private int records;

        @Override
        public synchronized void publish(LogRecord record) {
            text.append(formatter.format(record));
            records++;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }

        synchronized String text() {
            return text.toString();
        }

        synchronized int records() {
            return records;
        }
    }

    @BeforeAll
    static void writeStudiesAndCaptureLogs() throws IOException {
        kaggle = dir.resolve("kaggle");
        CanaryStudy.write(kaggle, "3001", 11);
        CanaryStudy.write(kaggle, "3002", 12);

        // the same images without the Kaggle layout, so studies and series are found by UID
        flat = dir.resolve("flat");
        Files.createDirectories(flat);
        try (Stream<Path> files = Files.walk(kaggle.resolve("3001"))) {
            int n = 0;
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, flat.resolve("IMG" + n++));
            }
        }

        Logger root = Logger.getLogger("");
        oldRootLevel = root.getLevel();
        root.setLevel(Level.ALL);
        logs.setLevel(Level.ALL);
        root.addHandler(logs);
    }

    @AfterAll
    static void restoreLogging() {
        Logger root = Logger.getLogger("");
        root.removeHandler(logs);
        root.setLevel(oldRootLevel);
    }

    private static int lumbar(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            exit = Main.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        String transcript = "$ lumbar " + String.join(" ", args) + "\n"
                + out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        transcripts.add(transcript);
        assertNoCanary("output of lumbar " + args[0], transcript);
        return exit;
    }

    private static String[] predictArgs(Path input, Path out, String... more) {
        List<String> all = new ArrayList<>(List.of("predict", "--input", input.toString(),
                "--model", DEMO_MANIFEST.toString(), "--out",
                out.resolve("submission.csv").toString(), "--report-dir",
                out.resolve("reports").toString(), "--threads", "1", "--verbose"));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static void assertNoCanary(String where, String text) {
        String upper = text.toUpperCase(Locale.ROOT);
        for (String token : CanaryStudy.TOKENS) {
            int at = upper.indexOf(token);
            if (at >= 0) {
                fail(where + " leaks the canary " + token + ": ..."
                        + text.substring(Math.max(0, at - 120), Math.min(text.length(), at + 80))
                        + "...");
            }
        }
    }

    private static void assertNoCanaryInFiles(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertNoCanary(f.toString(), new String(Files.readAllBytes(f),
                        StandardCharsets.ISO_8859_1));
                assertNoCanary("the name of " + f, folder.relativize(f).toString());
            }
        }
    }

    @Test
    void theCanariesAreInTheInput() throws IOException {
        // guards the test itself: a canary that never reached the files proves nothing
        Path anyFile;
        try (Stream<Path> files = Files.walk(kaggle.resolve("3001"))) {
            anyFile = files.filter(f -> f.toString().endsWith(".dcm")).findFirst().orElseThrow();
        }
        String raw = new String(Files.readAllBytes(anyFile), StandardCharsets.ISO_8859_1);
        for (String token : List.of("ZZCANARYNAME^TWEETY", "ZZCANARYPID", "19230417",
                "ZZCANARYACC", "ZZCANARY INSTITUTE", "ZZCANARYREF^DOC", "ZZCANARYPERF^DOC",
                "ZZCANARYOPER^DOC", "ZZCANARYSTUDY", "3133731337")) {
            assertTrue(raw.contains(token), token + " is missing from " + anyFile);
        }
        // the phantom's UIDs all live under 2.25; only the software's own class UID may remain
        String implementationClassUid = "2.25.1917171120241211";
        assertEquals(-1, raw.replace(implementationClassUid, "").indexOf("2.25."),
                "a phantom UID survived in " + anyFile);
    }

    @Test
    void inspectPrintsNoCanary() {
        assertEquals(0, lumbar("inspect", kaggle.toString(), "--timing"));
        assertEquals(0, lumbar("inspect", flat.toString(), "--timing"));
        assertEquals(0, lumbar("inspect", kaggle.resolve("3001").toString()));
        // DEBUG records (FINE in java.util.logging) reach the capture too
        assertTrue(logs.text().contains("FINE: "), "no DEBUG record was captured");
        assertNoCanary("the log", logs.text());
    }

    @Test
    void predictWritesNoCanaryWhenItSucceeds() throws IOException {
        Path out = dir.resolve("out-ok");
        assertEquals(0, lumbar(predictArgs(kaggle, out)));
        assertEquals(0, lumbar(predictArgs(kaggle, out, "--resume")));
        Path outFlat = dir.resolve("out-flat");
        assertEquals(0, lumbar(predictArgs(flat, outFlat)));

        assertEquals(1 + 2 * 25, Files.readAllLines(out.resolve("submission.csv")).size());
        assertNoCanaryInFiles(out);
        assertNoCanaryInFiles(outFlat);
        assertTrue(logs.records() > 0, "no log record was captured");
        assertNoCanary("the log", logs.text());
    }

    @Test
    void predictWritesNoCanaryWhenFilesAndStudiesFail() throws IOException {
        Path damaged = dir.resolve("damaged");
        copyTree(kaggle, damaged);

        // study 3001: one slice cut inside its pixel data, one inside its header, a stray file
        List<Path> slices = dcmFiles(damaged.resolve("3001"));
        byte[] whole = Files.readAllBytes(slices.get(0));
        Files.write(slices.get(0), java.util.Arrays.copyOf(whole, whole.length - 1000));
        byte[] second = Files.readAllBytes(slices.get(1));
        Files.write(slices.get(1), java.util.Arrays.copyOf(second, 700));
        Files.writeString(damaged.resolve("3001").resolve(slices.get(2).getParent()
                .getFileName().toString()).resolve("notes.dcm"), "ZZCANARY notes on TWEETY");

        // study 3002: every image cut inside its pixel data, so the study fails as a whole
        for (Path f : dcmFiles(damaged.resolve("3002"))) {
            byte[] bytes = Files.readAllBytes(f);
            Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        }

        Path out = dir.resolve("out-damaged");
        int exit = lumbar(predictArgs(damaged, out));
        assertTrue(exit != 0, "a failed study must make the exit code non-zero");
        String last = transcripts.getLast();
        assertTrue(last.contains("3002") && last.contains("failed"), last);

        // a broken ensemble: the error path before any study
        Path manifest = dir.resolve("broken.ensemble.json");
        Files.writeString(manifest, "{\"format\": \"lumbar-ensemble/1\", \"name\": 3}");
        int broken = lumbar("predict", "--input", kaggle.toString(), "--model",
                manifest.toString(), "--out", dir.resolve("out-broken/s.csv").toString(),
                "--verbose");
        assertTrue(broken != 0);

        // every study past its deadline, two at a time: failed reports for all of them
        Path timedOut = dir.resolve("out-timeout");
        assertTrue(lumbar(predictArgs(kaggle, timedOut, "--study-timeout", "0.001",
                "--workers", "2")) != 0, "timed-out studies must make the exit code non-zero");

        assertNoCanaryInFiles(out);
        assertNoCanaryInFiles(timedOut);
        assertNoCanary("the log", logs.text());
    }

    private static List<Path> dcmFiles(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(f -> f.toString().endsWith(".dcm")).sorted().toList();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }
}
