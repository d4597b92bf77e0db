package dev.lumbar.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lumbar} command: one subcommand per verb. */
@Command(name = "lumbar",
        mixinStandardHelpOptions = true,
        version = "lumbar 0.1.0",
        description = "Grades degenerative conditions of the lumbar spine from MRI studies.",
        subcommands = {CommandLine.HelpCommand.class,
                InspectCommand.class,
                ScoreCommand.class,
                ForwardCommand.class,
                CheckCommand.class,
                PhantomCommand.class,
                DoctorCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Log details (DEBUG) and show stack traces of errors.")
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
        Main main = new Main();
        CommandLine commandLine = new CommandLine(main);
        commandLine.setExecutionStrategy(parseResult -> {
            if (configureLogging) {
                Logging.configure(main.verbose, main.quiet, System.err);
            }
            return new CommandLine.RunLast().execute(parseResult);
        });
        return commandLine.execute(args);
    }

    /** Whether {@code --verbose} was given, for commands deciding to show stack traces. */
    public boolean verbose() {
        return verbose;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
