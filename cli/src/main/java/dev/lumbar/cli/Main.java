package dev.lumbar.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lumbar} command: one subcommand per verb. */
@Command(name = "lumbar",
        mixinStandardHelpOptions = true,
        version = "lumbar 0.1.0",
        description = "Grades degenerative conditions of the lumbar spine from MRI studies.",
        subcommands = {CommandLine.HelpCommand.class, CheckCommand.class, InspectCommand.class,
                PhantomCommand.class, ForwardCommand.class, ScoreCommand.class,
                PredictCommand.class, DoctorCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code; tests call this instead of main. */
    public static int run(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
