package dev.lumbar.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lumbar} command: one subcommand per verb. */
@Command(name = "lumbar",
        mixinStandardHelpOptions = true,
        version = "lumbar 0.1.0",
        description = {"Grades degenerative conditions of the lumbar spine from MRI studies.",
            "",
            "Exit codes: 0 done, 1 internal error (a bug; --verbose shows its stack trace)",
            "or the JVM out of memory, 2 bad usage or input; commands add their own, listed",
            "in their --help."},
        subcommands = {PredictCommand.class,
                InspectCommand.class,
                ScoreCommand.class,
                ForwardCommand.class,
                CheckCommand.class,
                PhantomCommand.class,
                DoctorCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Exit code of an unexpected failure inside a command: a bug to report. */
    public static final int INTERNAL_ERROR = 1;

    /** Exit code of bad usage or input a command cannot use: picocli's usage code, 2. */
    public static final int BAD_INPUT = CommandLine.ExitCode.USAGE;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Log details (DEBUG) and show the stack trace of any error.")
    boolean verbose;

    @CommandLine.Option(names = {"-q", "--quiet"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Log warnings and errors only.")
    boolean quiet;

    public static void main(String[] args) {
        System.exit(execute(true, args));
    }

    /**
     * Runs the command line and returns its exit code; tests call this instead of main. It
     * leaves the JVM's logging set-up alone, so tests can capture log records.
     */
    public static int run(String... args) {
        return execute(false, args);
    }

    private static int execute(boolean configureLogging, String... args) {
        try {
            return commandLine(configureLogging).execute(args);
        } catch (OutOfMemoryError e) {
            // outside a study (a study's own failure is reported with it and the batch goes
            // on): the heap is too small for the work, the networks' weights most often. Said
            // plainly, without the stack trace of wherever the last allocation happened.
            System.err.println("lumbar: out of memory (" + e.getMessage() + "); give the JVM"
                    + " a larger heap, e.g. LUMBAR_JAVA_OPTS=-Xmx2g");
            return INTERNAL_ERROR;
        }
    }

    /** The command line with this program's strategy and error handlers. */
    static CommandLine commandLine(boolean configureLogging) {
        Main main = new Main();
        CommandLine commandLine = new CommandLine(main);
        // every verb offers --version (standard help options); each answers with lumbar's
        String[] version = commandLine.getCommandSpec().version();
        commandLine.getSubcommands().values()
                .forEach(verb -> verb.getCommandSpec().version(version));
        commandLine.setExecutionStrategy(parseResult -> {
            requireVerb(parseResult);
            if (main.verbose && main.quiet) {
                throw new CommandLine.ParameterException(deepest(parseResult).commandSpec()
                        .commandLine(), "--quiet and --verbose contradict each other; give one");
            }
            if (configureLogging) {
                Logging.configure(main.verbose, main.quiet, System.err);
            }
            return new CommandLine.RunLast().execute(parseResult);
        });
        commandLine.setParameterExceptionHandler(Main::usageError);
        commandLine.setExecutionExceptionHandler((e, failed, parseResult) -> {
            // a bug, not bad input: commands report the input errors they expect themselves
            PrintWriter err = failed.getErr();
            err.println(failed.getCommandSpec().qualifiedName() + ": internal error: "
                    + (e.getMessage() == null ? e.getClass().getName()
                            : e.getClass().getSimpleName() + ": " + e.getMessage()));
            if (main.verbose) {
                e.printStackTrace(err);
            } else {
                err.println("(run again with --verbose for the stack trace)");
            }
            err.flush();
            return INTERNAL_ERROR;
        });
        return commandLine;
    }

    /**
     * Refuses a command line without a verb, or with a word that is not one: picocli would
     * otherwise let {@code --help} after an unknown word print the top-level help with 0.
     */
    private static void requireVerb(CommandLine.ParseResult parseResult) {
        CommandLine top = parseResult.commandSpec().commandLine();
        if (!parseResult.unmatched().isEmpty()) {
            throw new CommandLine.UnmatchedArgumentException(top, parseResult.unmatched());
        }
        if (!parseResult.hasSubcommand() && !parseResult.isUsageHelpRequested()
                && !parseResult.isVersionHelpRequested()) {
            throw new CommandLine.ParameterException(top, "no verb given");
        }
    }

    private static CommandLine.ParseResult deepest(CommandLine.ParseResult parseResult) {
        CommandLine.ParseResult result = parseResult;
        while (result.hasSubcommand()) {
            result = result.subcommand();
        }
        return result;
    }

    /** {@code lumbar <verb>: <problem>}, then how to get help; exit code 2. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine failed = e.getCommandLine();
        PrintWriter err = failed.getErr();
        err.println(failed.getCommandSpec().qualifiedName() + ": " + e.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
            if (failed.getCommandSpec().parent() == null) {
                failed.usage(err);
            } else {
                err.println("Try '" + failed.getCommandSpec().qualifiedName()
                        + " --help' for more information.");
            }
        }
        err.flush();
        return CommandLine.ExitCode.USAGE;
    }

    /** Whether {@code --verbose} was given, for commands deciding to show stack traces. */
    public boolean verbose() {
        return verbose;
    }

    /** Not reached: the execution strategy refuses a command line without a verb first. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "no verb given");
    }
}
