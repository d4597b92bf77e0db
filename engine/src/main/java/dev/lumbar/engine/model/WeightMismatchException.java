package dev.lumbar.engine.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A weights file that does not fit the network built for it, or holds values it cannot run.
 * Every problem is listed at once, so a bad conversion is diagnosed in one run instead of one
 * missing tensor at a time.
 */
public final class WeightMismatchException extends IOException {

    /**
     * A tensor present on both sides with different shapes, of a non-float dtype, or holding
     * values no trained network has (NaN, infinity, a negative variance).
     */
    public record Mismatch(String name, String expected, String found) {
        @Override
        public String toString() {
            return name + " expected " + expected + ", found " + found;
        }
    }

    /** How many names of each kind a message lists: a wrong file can differ in hundreds. */
    public static final int LISTED = 20;

    private final Path file;
    private final List<String> missing;
    private final List<String> unexpected;
    private final List<Mismatch> mismatched;

    public WeightMismatchException(Path file, String model, List<String> missing,
            List<String> unexpected, List<Mismatch> mismatched) {
        super(message(file, model, missing, unexpected, mismatched));
        this.file = file;
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.mismatched = List.copyOf(mismatched);
    }

    private static String message(Path file, String model, List<String> missing,
            List<String> unexpected, List<Mismatch> mismatched) {
        StringBuilder out = new StringBuilder();
        out.append(file).append(": weights do not match ").append(model).append(':');
        if (!missing.isEmpty()) {
            out.append("\n  missing (").append(missing.size()).append("): ")
                    .append(String.join(", ", firstOf(missing)));
        }
        if (!unexpected.isEmpty()) {
            out.append("\n  unexpected (").append(unexpected.size()).append("): ")
                    .append(String.join(", ", firstOf(unexpected)))
                    .append("\n    (add them to the card's \"ignore\" list if they are unused)");
        }
        if (!mismatched.isEmpty()) {
            out.append("\n  wrong shape, dtype or values (").append(mismatched.size())
                    .append("):");
            for (Object m : firstOf(mismatched)) {
                out.append("\n    ").append(m);
            }
        }
        return out.toString();
    }

    /** The first {@link #LISTED} of {@code items} and, past them, how many more there are. */
    public static List<String> firstOf(List<?> items) {
        List<String> shown = new ArrayList<>();
        for (int i = 0; i < Math.min(items.size(), LISTED); i++) {
            shown.add(items.get(i).toString());
        }
        if (items.size() > LISTED) {
            shown.add("… and " + (items.size() - LISTED) + " more");
        }
        return shown;
    }

    public Path file() {
        return file;
    }

    public List<String> missing() {
        return missing;
    }

    public List<String> unexpected() {
        return unexpected;
    }

    public List<Mismatch> mismatched() {
        return mismatched;
    }
}
