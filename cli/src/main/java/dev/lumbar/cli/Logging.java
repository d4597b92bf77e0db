package dev.lumbar.cli;

import java.io.PrintStream;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * One-line log output for the command line: {@code lumbar: WARNING: message}, on standard
 * error, at INFO by default, DEBUG ({@code FINE}) with {@code --verbose}, WARNING with
 * {@code --quiet}. The engine logs through {@code System.Logger}, which lands in
 * {@code java.util.logging} when no other provider is installed.
 */
final class Logging {

    private Logging() {
    }

    static void configure(boolean verbose, boolean quiet, PrintStream err) {
        Level level = verbose ? Level.FINE : quiet ? Level.WARNING : Level.INFO;
        Logger root = Logger.getLogger("");
        for (Handler handler : root.getHandlers()) {
            root.removeHandler(handler);
        }
        // A StreamHandler over the given stream; ConsoleHandler would close System.err if its
        // stream were swapped, and must not be closed itself.
        Handler handler = new StreamHandler(err, new OneLine(verbose)) {
            @Override
            public synchronized void publish(LogRecord record) {
                super.publish(record);
                flush();
            }

            @Override
            public synchronized void close() {
                flush();
            }
        };
        handler.setLevel(level);
        root.addHandler(handler);
        // The JDK's and libraries' own DEBUG output is not ours: only the engine goes verbose.
        root.setLevel(quiet ? Level.WARNING : Level.INFO);
        Logger.getLogger("dev.lumbar").setLevel(level);
    }

    private static final class OneLine extends Formatter {
        private final boolean withSource;

        OneLine(boolean withSource) {
            this.withSource = withSource;
        }

        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder("lumbar: ");
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                line.append(record.getLevel() == Level.SEVERE ? "ERROR" : "WARNING").append(": ");
            } else if (record.getLevel().intValue() < Level.INFO.intValue()) {
                line.append("DEBUG: ");
            }
            if (withSource && record.getLoggerName() != null) {
                String name = record.getLoggerName();
                line.append('[').append(name.substring(name.lastIndexOf('.') + 1)).append("] ");
            }
            line.append(formatMessage(record)).append(System.lineSeparator());
            if (withSource && record.getThrown() != null) {
                java.io.StringWriter trace = new java.io.StringWriter();
                record.getThrown().printStackTrace(new java.io.PrintWriter(trace));
                line.append(trace);
            }
            return line.toString();
        }
    }
}
