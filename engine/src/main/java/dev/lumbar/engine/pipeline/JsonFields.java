package dev.lumbar.engine.pipeline;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Typed reads from one parsed JSON object, with errors that name the file and the field's path
 * (e.g. {@code conditions.spinal_canal_stenosis.members[0].bag.slices}).
 */
final class JsonFields {

    private final Path file;
    private final String path;
    private final Map<?, ?> object;

    private JsonFields(Path file, String path, Map<?, ?> object) {
        this.file = file;
        this.path = path;
        this.object = object;
    }

    static JsonFields root(Path file, Object value) {
        if (!(value instanceof Map<?, ?> map)) {
            throw new ManifestException(file, "", "expected a JSON object at the top level");
        }
        return new JsonFields(file, "", map);
    }

    Path file() {
        return file;
    }

    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return object.containsKey(key) && object.get(key) != null;
    }

    /**
     * Fails on the first field not among {@code known}, naming its path and the known fields,
     * so that a misspelt optional field is not silently replaced by its default.
     */
    JsonFields allowOnly(String... known) {
        List<String> allowed = List.of(known);
        for (Object key : object.keySet()) {
            if (!allowed.contains(String.valueOf(key))) {
                throw new ManifestException(file, path(String.valueOf(key)),
                        "is not a known field; known: " + allowed.stream().sorted().toList());
            }
        }
        return this;
    }

    Iterable<String> keys() {
        return object.keySet().stream().map(String::valueOf).toList();
    }

    String string(String key) {
        if (!(require(key) instanceof String s)) {
            throw wrong(key, "a string");
        }
        return s;
    }

    String string(String key, String fallback) {
        return has(key) ? string(key) : fallback;
    }

    double number(String key) {
        if (!(require(key) instanceof Number n)) {
            throw wrong(key, "a number");
        }
        return n.doubleValue();
    }

    double number(String key, double fallback) {
        return has(key) ? number(key) : fallback;
    }

    int integer(String key) {
        if (!(require(key) instanceof Long n) || n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
            throw wrong(key, "an integer");
        }
        return n.intValue();
    }

    int integer(String key, int fallback) {
        return has(key) ? integer(key) : fallback;
    }

    boolean bool(String key, boolean fallback) {
        if (!has(key)) {
            return fallback;
        }
        if (!(object.get(key) instanceof Boolean b)) {
            throw wrong(key, "true or false");
        }
        return b;
    }

    JsonFields object(String key) {
        if (!(require(key) instanceof Map<?, ?> map)) {
            throw wrong(key, "an object");
        }
        return new JsonFields(file, path(key), map);
    }

    List<?> list(String key) {
        if (!(require(key) instanceof List<?> list)) {
            throw wrong(key, "an array");
        }
        return list;
    }

    /** Element {@code index} of the array at {@code key}, which must be an object. */
    JsonFields element(String key, int index) {
        Object value = list(key).get(index);
        if (!(value instanceof Map<?, ?> map)) {
            throw new ManifestException(file, path(key) + "[" + index + "]", "expected an object");
        }
        return new JsonFields(file, path(key) + "[" + index + "]", map);
    }

    /** A two-element array of positive integers, e.g. {@code [rows, cols]}. */
    int[] size(String key) {
        List<?> list = list(key);
        if (list.size() != 2 || !(list.get(0) instanceof Long a) || !(list.get(1) instanceof Long b)
                || a < 1 || b < 1 || a > 65536 || b > 65536) {
            throw wrong(key, "[rows, cols], two positive integers");
        }
        return new int[] {a.intValue(), b.intValue()};
    }

    ManifestException problem(String key, String problem) {
        return new ManifestException(file, path(key), problem);
    }

    private Object require(String key) {
        if (!has(key)) {
            throw new ManifestException(file, path(key), "missing");
        }
        return object.get(key);
    }

    private ManifestException wrong(String key, String expected) {
        return new ManifestException(file, path(key), "expected " + expected + ", got "
                + object.get(key));
    }
}
