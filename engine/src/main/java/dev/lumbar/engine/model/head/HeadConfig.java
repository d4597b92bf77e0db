package dev.lumbar.engine.model.head;

import java.util.Map;

/** Typed reads of a model card's {@code head} object, with messages that name the key. */
final class HeadConfig {

    private final Map<String, Object> values;

    HeadConfig(Map<String, Object> values) {
        this.values = values;
    }

    String type() {
        return string("type", null);
    }

    int integer(String key, int fallback) {
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
}
