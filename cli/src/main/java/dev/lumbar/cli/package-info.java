/**
 * The {@code lumbar} command line: {@link dev.lumbar.cli.Main} and one picocli command per
 * verb ({@code inspect}, {@code score}, {@code forward}, {@code check}, {@code phantom},
 * {@code doctor}), one-line logging on standard error, and
 * {@link dev.lumbar.cli.CardNetwork}, which builds a model card's network the one way both
 * {@code check} and {@code forward} use.
 *
 * <p>Invariants: results go to standard output, messages to standard error; an error a
 * command expects reads {@code lumbar <verb>: <file>: <problem>} and exits with a code the
 * verb's help lists (2 for bad usage or input); anything else is an internal error, one line
 * and exit code 1, with the stack trace only under {@code --verbose}. No message or log line
 * may carry a patient identifier. Tests call {@link dev.lumbar.cli.Main#run} instead of
 * {@code main}, which returns the exit code and leaves the JVM running.
 */
package dev.lumbar.cli;
