package dev.lumbar.engine.model.head;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed reads of a model card's {@code head} object, with messages that name the key. It
 * notes every key a head's builder asks for, so that a key none asked for, a typo such as
 * {@code lstm_layer}, is refused rather than silently leaving its option at the default.
 */
final class HeadConfig {

    private final Map<String, Object> values;
    private final Set<String> asked = new TreeSet<>();

    HeadConfig(Map<String, Object> values) {
        this.values = values;
    }

    String type() {
        return string("type", null);
    }

    int integer(String key, int fallback) {
        asked.add(key);
        Object value = values.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Number number && number.doubleValue() == Math.rint(
                number.doubleValue())) {
            return Math.toIntExact(number.longValue());
        }
        throw new IllegalArgumentException("head option '" + key + "' must be a whole number,"
                + " got " + value);
    }

    int requiredInteger(String key) {
        if (!values.containsKey(key)) {
            throw new IllegalArgumentException("head of type '" + type() + "' needs option '"
                    + key + "'");
        }
        return integer(key, 0);
    }

    String string(String key, String fallback) {
        asked.add(key);
        Object value = values.get(key);
        if (value == null) {
            if (fallback == null) {
                throw new IllegalArgumentException("head needs option '" + key + "'");
            }
            return fallback;
        }
        if (value instanceof String text) {
            return text;
        }
        throw new IllegalArgumentException("head option '" + key + "' must be text, got "
                + value);
    }

    /** Refuses the keys no read asked for, naming them and those the head reads. */
    void requireNoOthers() {
        Set<String> others = new TreeSet<>(values.keySet());
        others.removeAll(asked);
        if (!others.isEmpty()) {
            throw new IllegalArgumentException("head of type '" + type() + "' has unknown"
                    + " option(s) " + others + "; it reads " + asked);
        }
    }
}
