package dev.lumbar.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Exit codes and messages of the command line as a whole. */
class MainTest {

    /** A verb that fails the way a bug would. */
    @CommandLine.Command(name = "explode")
    static final class Explode implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException("the fuse was lit");
        }
    }

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        CommandLine commandLine = Main.commandLine(false);
        commandLine.addSubcommand(new Explode());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exit = commandLine.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void anInternalErrorIsOneLineAndExitOneUnlessVerbose() {
        Result quiet = run("explode");
        assertEquals(Main.INTERNAL_ERROR, quiet.exit());
        assertTrue(quiet.err().startsWith("lumbar explode: internal error: "
                + "IllegalStateException: the fuse was lit"), quiet.err());
        assertFalse(quiet.err().contains("\tat "), "no stack trace without --verbose");

        Result verbose = run("explode", "--verbose");
        assertEquals(Main.INTERNAL_ERROR, verbose.exit());
        assertTrue(verbose.err().contains("\tat dev.lumbar.cli.MainTest$Explode.call"),
                verbose.err());
    }

    @Test
    void withoutAVerbPrintsUsageAndExitsTwo() {
        Result bare = run();
        assertEquals(2, bare.exit());
        assertTrue(bare.err().startsWith("lumbar: no verb given"), bare.err());
        assertTrue(bare.err().contains("Usage: lumbar"), bare.err());
        assertEquals(0, run("--help").exit());
        assertEquals(0, run("--version").exit());
    }

    @Test
    void everyVerbPrintsTheVersion() {
        String version = run("--version").out().strip();
        assertTrue(version.startsWith("lumbar "), version);
        for (String verb : new String[] {"predict", "inspect", "score", "forward", "check",
                "phantom", "doctor"}) {
            Result result = run(verb, "--version");
            assertEquals(0, result.exit(), verb);
            assertEquals(version, result.out().strip(), verb);
        }
    }

    @Test
    void anUnknownVerbIsAUsageErrorEvenWithHelp() {
        for (String[] args : new String[][] {{"nosuchverb"}, {"nosuchverb", "--help"}}) {
            Result result = run(args);
            assertEquals(2, result.exit(), String.join(" ", args));
            assertTrue(result.err().contains("'nosuchverb'"), result.err());
            assertEquals("", result.out(), "no top-level help on standard output");
        }
    }

    @Test
    void quietAndVerboseTogetherAreAUsageError() {
        Result result = run("check", "-q", "-v", "whatever.npy");
        assertEquals(2, result.exit());
        assertTrue(result.err().startsWith("lumbar check: --quiet and --verbose contradict"),
                result.err());
        assertEquals(2, run("-q", "check", "-v", "whatever.npy").exit());
    }

    @Test
    void everyVerbsSummaryIsAWholeSentence() {
        CommandLine commandLine = Main.commandLine(false);
        commandLine.getSubcommands().forEach((name, sub) -> {
            String[] description = sub.getCommandSpec().usageMessage().description();
            if (description.length > 0) {
                assertTrue(description[0].strip().endsWith("."),
                        name + ": '" + description[0] + "'");
            }
        });
    }
}
