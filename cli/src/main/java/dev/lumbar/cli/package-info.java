/**
 * The {@code lumbar} command line: {@link dev.lumbar.cli.Main} and one picocli command per
 * verb ({@code inspect}, {@code score}, {@code forward}, {@code check}, {@code phantom},
 * {@code doctor}) and one-line logging on standard error. {@code check} and {@code forward}
 * build a model card's network through {@link dev.lumbar.engine.model.CardNetwork}, as
 * {@code predict} does, so a card that passes {@code check} runs in the others.
 *
 * <p>Invariants: results go to standard output, messages to standard error; an error a
 * command expects reads {@code lumbar <verb>: <file>: <problem>} and exits with a code the
 * verb's help lists (2 for bad usage or input); anything else is an internal error, one line
 * and exit code 1, with the stack trace only under {@code --verbose}. No message or log line
 * may carry a patient identifier. Tests call {@link dev.lumbar.cli.Main#run} instead of
 * {@code main}, which returns the exit code and leaves the JVM running.
 */
package dev.lumbar.cli;
