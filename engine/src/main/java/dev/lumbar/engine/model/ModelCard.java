package dev.lumbar.engine.model;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.JsonException;
import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One trained network, as described by a {@code *.model.json} card of format
 * {@value #FORMAT}: where its weights are, which backbone and head read them, and what input
 * it expects. For example:
 *
 * <pre>{@code
 * {"format": "lumbar-model/1", "name": "demo-spinal-convnext",
 *  "weights": "demo-spinal-convnext.safetensors",
 *  "backbone": {"arch": "convnext_atto", "in_chans": 3, "prefix": "encoder.",
 *               "num_classes": 0, "config": {"depths": [1,1,2,1], "dims": [16,32,64,128]}},
 *  "head": {"type": "mil_bilstm", "num_classes": 3, "lstm_layers": 1},
 *  "input": {"slices": 5, "channels": 3, "height": 64, "width": 64,
 *            "normalize": {"mode": "minmax"}},
 *  "ignore": ["encoder.head.fc.weight"]}
 * }</pre>
 *
 * <p>Unknown keys are errors at the top level and in {@code backbone} and {@code input} (and in
 * {@code head}, where the head's builder refuses the options it does not read), so a
 * misspelt field never silently falls back to something else; {@code backbone.config},
 * {@code head} and {@code input.normalize} are kept as parsed maps for the builders that own
 * their meaning. {@code ignore} lists state-dict names that may be present in the weights
 * without being used: exact names, or prefixes written {@code "encoder.head.*"}.
 */
public final class ModelCard {

    public static final String FORMAT = "lumbar-model/1";

    private static final Set<String> TOP_KEYS = Set.of("format", "name", "description",
            "weights", "backbone", "head", "input", "ignore");
    private static final Set<String> BACKBONE_KEYS = Set.of("arch", "in_chans", "prefix",
            "num_classes", "config");
    private static final Set<String> INPUT_KEYS = Set.of("slices", "channels", "height",
            "width", "normalize");

    /** The encoder: a timm architecture, its input channels and where its keys start. */
    public record Backbone(String arch, int inChans, String prefix, int numClasses,
            Map<String, Object> config) {
    }

    /** What one forward pass takes: a bag of {@code slices × channels × height × width}. */
    public record Input(int slices, int channels, int height, int width,
            Map<String, Object> normalize) {

        /** The intensity normalisation's {@code mode}, e.g. {@code minmax}. */
        public String normalizeMode() {
            return (String) normalize.get("mode");
        }
    }

    private final Path file;
    private final String name;
    private final String description;
    private final Path weights;
    private final Backbone backbone;
    private final Map<String, Object> head;
    private final Input input;
    private final List<String> ignore;

    private ModelCard(Path file, String name, String description, Path weights,
            Backbone backbone, Map<String, Object> head, Input input, List<String> ignore) {
        this.file = file;
        this.name = name;
        this.description = description;
        this.weights = weights;
        this.backbone = backbone;
        this.head = head;
        this.input = input;
        this.ignore = ignore;
    }

    /** Reads and validates a card; its weights path is resolved against the card's folder. */
    public static ModelCard load(Path card) throws IOException {
        Object parsed;
        try {
            parsed = Json.read(card);
        } catch (JsonException e) {
            throw new ModelCardException(card, "not valid JSON: " + e.getMessage());
        }
        Fields top = Fields.of(card, "", parsed, TOP_KEYS);

        // format first: anything else about a card of another format is meaningless
        Object format = top.map.get("format");
        if (!FORMAT.equals(format)) {
            throw new ModelCardException(card, "format is "
                    + (format == null ? "missing" : "'" + format + "'") + "; this engine reads '"
                    + FORMAT + "' model cards");
        }
        top.requireKeys("format", "name", "weights", "backbone", "head", "input");

        String name = top.string("name");
        String description = top.map.containsKey("description")
                ? top.string("description") : "";
        String weightsName = top.string("weights");
        if (weightsName.isBlank()) {
            throw top.error("weights", "is empty; name the safetensors file beside the card");
        }
        Path weights = weightsBesideCard(card, top, weightsName);

        Fields b = Fields.of(card, "backbone", top.map.get("backbone"), BACKBONE_KEYS);
        b.requireKeys("arch", "in_chans");
        Backbone backbone = new Backbone(
                b.string("arch"),
                b.integer("in_chans", 1),
                b.map.containsKey("prefix") ? b.string("prefix") : "",
                b.map.containsKey("num_classes") ? b.integer("num_classes", 0) : 0,
                b.map.containsKey("config") ? b.object("config") : Map.of());

        Fields h = Fields.of(card, "head", top.map.get("head"), null);
        h.requireKeys("type");
        h.string("type");
        Map<String, Object> head = Collections.unmodifiableMap(h.map);

        Fields in = Fields.of(card, "input", top.map.get("input"), INPUT_KEYS);
        in.requireKeys("slices", "channels", "height", "width", "normalize");
        Fields normalize = Fields.of(card, "input.normalize", in.map.get("normalize"), null);
        normalize.requireKeys("mode");
        normalize.string("mode");
        Input input = new Input(in.integer("slices", 1), in.integer("channels", 1),
                in.integer("height", 1), in.integer("width", 1),
                Collections.unmodifiableMap(normalize.map));
        if (input.channels() != backbone.inChans()) {
            throw new ModelCardException(card, "input.channels is " + input.channels()
                    + " but backbone.in_chans is " + backbone.inChans());
        }

        List<String> ignore = top.map.containsKey("ignore")
                ? ignorePatterns(top) : List.of();
        return new ModelCard(card, name, description, weights, backbone, head, input, ignore);
    }

    /**
     * The weights path, which must stay inside the card's folder: a card is data that may come
     * from anywhere, and must not make the engine open (and describe) files elsewhere.
     */
    private static Path weightsBesideCard(Path card, Fields top, String weightsName)
            throws ModelCardException {
        Path named;
        try {
            named = Path.of(weightsName);
        } catch (InvalidPathException e) {
            throw top.error("weights", "'" + weightsName + "' is not a valid file name");
        }
        if (named.isAbsolute() || named.getRoot() != null) {
            throw top.error("weights", "'" + weightsName + "' is an absolute path; name the"
                    + " safetensors file relative to the card's folder");
        }
        Path folder = card.toAbsolutePath().normalize().getParent();
        Path weights = folder.resolve(named).normalize();
        if (!weights.startsWith(folder) || weights.equals(folder)) {
            throw top.error("weights", "'" + weightsName + "' leads outside the card's folder "
                    + folder + "; the safetensors file must sit beside the card or below it");
        }
        // LIMITATION: the check is on the path as written; a symbolic link inside the folder
        // that points elsewhere is followed.
        return weights;
    }

    private static List<String> ignorePatterns(Fields top) throws ModelCardException {
        if (!(top.map.get("ignore") instanceof List<?> list)) {
            throw top.error("ignore", "is not a list of tensor names");
        }
        List<String> patterns = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof String pattern) || pattern.isEmpty()) {
                throw top.error("ignore", "holds " + item + ", not a tensor name");
            }
            int star = pattern.indexOf('*');
            if (star >= 0 && (star != pattern.length() - 1 || !pattern.endsWith(".*"))) {
                throw top.error("ignore", "pattern '" + pattern + "' is neither an exact name"
                        + " nor a prefix ending in '.*'");
            }
            patterns.add(pattern);
        }
        return List.copyOf(patterns);
    }

    /** The card file itself. */
    public Path file() {
        return file;
    }

    public String name() {
        return name;
    }

    /** Free text, empty when the card has none. */
    public String description() {
        return description;
    }

    /**
     * The safetensors file, resolved against the card's folder and guaranteed to lie inside it
     * (not checked to exist).
     */
    public Path weights() {
        return weights;
    }

    public Backbone backbone() {
        return backbone;
    }

    /** The head's section as parsed; {@code type} is guaranteed to be a string. */
    public Map<String, Object> head() {
        return head;
    }

    public String headType() {
        return (String) head.get("type");
    }

    public Input input() {
        return input;
    }

    /** The {@code ignore} patterns: exact names or {@code prefix.*}. */
    public List<String> ignore() {
        return ignore;
    }

    /** Whether {@code tensorName} matches one of the {@code ignore} patterns. */
    public boolean ignores(String tensorName) {
        return matchesAny(ignore, tensorName);
    }

    static boolean matchesAny(List<String> patterns, String tensorName) {
        for (String pattern : patterns) {
            if (pattern.endsWith(".*")
                    ? tensorName.startsWith(pattern.substring(0, pattern.length() - 1))
                    : tensorName.equals(pattern)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "ModelCard[" + name + ", " + backbone.arch() + " + " + headType() + "]";
    }

    /** One JSON object of the card, with typed getters that name the field on failure. */
    private static final class Fields {
        final Path card;
        final String where;
        final Map<String, Object> map;

        private Fields(Path card, String where, Map<String, Object> map) {
            this.card = card;
            this.where = where;
            this.map = map;
        }

        static Fields of(Path card, String where, Object value, Set<String> allowed)
                throws ModelCardException {
            if (!(value instanceof Map<?, ?> raw)) {
                throw new ModelCardException(card, (where.isEmpty() ? "the card" : where)
                        + " is not a JSON object");
            }
            Map<String, Object> map = new LinkedHashMap<>();
            raw.forEach((k, v) -> map.put((String) k, v));
            Fields fields = new Fields(card, where, map);
            if (allowed != null) {
                for (String key : map.keySet()) {
                    if (!allowed.contains(key)) {
                        throw fields.error(key, "is not a known field; known: "
                                + allowed.stream().sorted().toList());
                    }
                }
            }
            return fields;
        }

        void requireKeys(String... keys) throws ModelCardException {
            for (String key : keys) {
                if (!map.containsKey(key)) {
                    throw error(key, "is missing");
                }
            }
        }

        String string(String key) throws ModelCardException {
            if (!(map.get(key) instanceof String s)) {
                throw error(key, "is not a string");
            }
            return s;
        }

        int integer(String key, int min) throws ModelCardException {
            if (!(map.get(key) instanceof Long v) || v < min || v > Integer.MAX_VALUE) {
                Object value = map.get(key);
                throw error(key, "is " + (value instanceof String text ? "\"" + text + "\""
                        : value) + ", not an integer >= " + min);
            }
            return v.intValue();
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> object(String key) throws ModelCardException {
            if (!(map.get(key) instanceof Map<?, ?> m)) {
                throw error(key, "is not a JSON object");
            }
            return Collections.unmodifiableMap((Map<String, Object>) m);
        }

        ModelCardException error(String key, String problem) {
            return new ModelCardException(card, (where.isEmpty() ? "" : where + ".") + key + " "
                    + problem);
        }
    }
}
