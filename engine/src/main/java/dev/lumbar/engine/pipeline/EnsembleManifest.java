package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.io.IoProblems;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.io.JsonException;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.SeriesType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An ensemble manifest ({@code *.ensemble.json}, format {@code lumbar-ensemble/1}): which
 * networks localise the targets, which grade them, and how their bags are cut.
 *
 * <h2>Schema</h2>
 * <pre>
 * {
 *   "format": "lumbar-ensemble/1",
 *   "name": "demo",                        // for reports
 *   "trained": false,                      // false: weights are random, outputs meaningless
 *   "description": "…",                    // optional
 *   "priors": "train_label_counts.csv",    // label counts, the last fallback of every target
 *   "stage1": {                            // per series type; each model optional
 *     "SAG_T2": {"slices": "a.model.json", "points": "b.model.json",
 *                "channel_mode": "adjacent"},   // channels: neighbours (default "repeat")
 *     "SAG_T1": {"slices": "c.model.json", "points": "d.model.json"},
 *     "AX_T2":  {"points": "e.model.json"}
 *   },
 *   "conditions": {                        // a condition's Kaggle name, or a group's name
 *     "spinal_canal_stenosis": {           // (neural_foraminal_narrowing, subarticular_stenosis)
 *       "temperature": 1.0,                // which then serves both sides
 *       "members": [ {
 *         "name": "spinal_convnext",       // for reports; defaults to the model file's name
 *         "model": "f.model.json",         // a lumbar-model/1 card, relative to this file
 *         "view": "SAG_T2",                // SAG_T1 | SAG_T2 | AX_T2: the bag's stack
 *         "weight": 1.0,
 *         "flip_tta": true,                // also grade the left-right flipped bag, average logits
 *         "bag": {
 *           "slices": 5, "slice_step": 1,  // S instances around the target's slice
 *           "channels": 3, "channel_mode": "repeat",   // or "adjacent"
 *           "resize": [512, 512],          // [rows, cols] before cropping; omit for none
 *           "crop": {"left": 48, "right": 48, "up": 32, "down": 32},  // resized pixels
 *           "level": false,                // rotate so the disc lies level
 *           "flip_other_side": false,      // flip bags of the patient's left side
 *           "size": [64, 64],              // [h, w] of every instance
 *           "normalisation": "minmax"      // "zscore", or {"window": [low, high]}
 *         } } ] } }
 * }
 * </pre>
 *
 * <p>Unknown fields are errors that name the field's path and list the known ones, so a
 * misspelt optional field (say {@code crpo}) never silently falls back to its default.
 *
 * <p>Stage-1 conventions: the {@code SAG_T2} slice scorer and point model have 5 targets, the
 * levels L1/L2…L5/S1; the {@code SAG_T1} slice scorer has 10 (left foramen at the five levels,
 * then right) and its point model 5 (the levels, on the slice chosen for each side); the
 * {@code AX_T2} point model has 2 (left, then right subarticular zone) on the slice that the
 * level's sagittal point projects to.
 *
 * <p>Aggregation: a member's logits are averaged over its flips; the members of a condition
 * whose view exists in the study are averaged with their weights; the mean logits are divided
 * by the condition's temperature and turned into probabilities by softmax. A condition with no
 * member able to serve takes the label priors, and the report marks those targets.
 *
 * @param file       where the manifest was read from; relative paths resolve against its folder
 * @param stage1     the localisation models per series type
 * @param conditions the grading plan of every one of the five conditions (possibly memberless)
 * @param priors     the label-count file, or null when the manifest names none
 */
public record EnsembleManifest(Path file, String name, boolean trained, String description,
        Map<SeriesType, Stage1Models> stage1, Map<Condition, ConditionPlan> conditions,
        Path priors) {

    public static final String FORMAT = "lumbar-ensemble/1";

    /**
     * The localisation models of one series type; either may be null. Their images hold the
     * slice repeated across the card's channels, or its neighbours ({@code channel_mode}).
     */
    public record Stage1Models(Path slices, Path points, BagGeometry.ChannelMode channelMode) {
    }

    /** One stage-2 network and how its bags are cut. */
    public record Member(String name, Path model, SeriesType view, double weight,
            boolean flipTta, BagGeometry bag) {
    }

    /** The members that grade one condition and the temperature of their mean logits. */
    public record ConditionPlan(Condition condition, double temperature, List<Member> members) {
    }

    public EnsembleManifest {
        stage1 = Map.copyOf(stage1);
        conditions = Map.copyOf(conditions);
    }

    /**
     * The files whose content decides what this ensemble computes, apart from the weights:
     * the manifest, its label priors, and every model card it names, each once, in a fixed
     * order.
     */
    public List<Path> settingsFiles() {
        Set<Path> files = new TreeSet<>();
        stage1.values().forEach(m -> {
            if (m.slices() != null) {
                files.add(m.slices());
            }
            if (m.points() != null) {
                files.add(m.points());
            }
        });
        for (Condition condition : Condition.ALL) {
            plan(condition).members().forEach(member -> files.add(member.model()));
        }
        List<Path> all = new ArrayList<>();
        all.add(file);
        if (priors != null) {
            all.add(priors);
        }
        all.addAll(files);
        return all;
    }

    /** Reads and checks a manifest; model files are checked to exist, not yet loaded. */
    public static EnsembleManifest read(Path file) {
        Object root;
        try {
            root = Json.read(file);
        } catch (IOException e) {
            throw new ManifestException(file, "cannot read the manifest: "
                    + IoProblems.reason(e, "no such file"), e);
        } catch (JsonException e) {
            throw new ManifestException(file, "not valid JSON: " + e.getMessage(), e);
        }
        return parse(file, root);
    }

    /** Checks an already parsed manifest; {@code file} names it in errors and anchors paths. */
    public static EnsembleManifest parse(Path file, Object root) {
        JsonFields json = JsonFields.root(file, root).allowOnly("format", "name", "trained",
                "description", "priors", "stage1", "conditions");
        String format = json.string("format");
        if (!FORMAT.equals(format)) {
            throw json.problem("format", "expected \"" + FORMAT + "\", got \"" + format + "\"");
        }
        Path folder = file.toAbsolutePath().getParent();

        Map<SeriesType, Stage1Models> stage1 = new EnumMap<>(SeriesType.class);
        if (json.has("stage1")) {
            JsonFields models = json.object("stage1");
            for (String key : models.keys()) {
                SeriesType type = seriesType(models, key, key);
                JsonFields entry = models.object(key).allowOnly("slices", "points",
                        "channel_mode");
                stage1.put(type, new Stage1Models(modelPath(entry, "slices", folder),
                        modelPath(entry, "points", folder), channelMode(entry)));
            }
        }

        Map<Condition, ConditionPlan> plans = new EnumMap<>(Condition.class);
        JsonFields conditions = json.object("conditions");
        for (String key : conditions.keys()) {
            List<Condition> served = conditionsNamed(conditions, key);
            JsonFields plan = conditions.object(key).allowOnly("temperature", "members");
            double temperature = plan.number("temperature", 1.0);
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw plan.problem("temperature", "must be a positive number");
            }
            List<Member> members = new ArrayList<>();
            for (int i = 0; i < plan.list("members").size(); i++) {
                members.add(member(plan.element("members", i).allowOnly("name", "model",
                        "view", "weight", "flip_tta", "bag"), folder));
            }
            for (Condition condition : served) {
                if (plans.containsKey(condition)) {
                    throw conditions.problem(key, condition.kaggleName() + " is planned twice");
                }
                plans.put(condition, new ConditionPlan(condition, temperature,
                        List.copyOf(members)));
            }
        }
        for (Condition condition : Condition.ALL) {
            plans.putIfAbsent(condition, new ConditionPlan(condition, 1.0, List.of()));
        }

        Path priors = null;
        if (json.has("priors")) {
            priors = folder.resolve(json.string("priors"));
            if (!Files.isRegularFile(priors)) {
                throw json.problem("priors", "no file " + priors);
            }
        }
        return new EnsembleManifest(file, json.string("name", file.getFileName().toString()),
                json.bool("trained", true), json.string("description", ""), stage1, plans,
                priors);
    }

    /** The stage-1 models of {@code type}, if the manifest names any. */
    public Optional<Stage1Models> stage1(SeriesType type) {
        return Optional.ofNullable(stage1.get(type));
    }

    public ConditionPlan plan(Condition condition) {
        return conditions.get(condition);
    }

    private static Member member(JsonFields json, Path folder) {
        Path model = modelPath(json, "model", folder);
        if (model == null) {
            throw json.problem("model", "missing");
        }
        String fallbackName = model.getFileName().toString().replaceFirst("\\.model\\.json$", "");
        double weight = json.number("weight", 1.0);
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw json.problem("weight", "must be a positive number");
        }
        return new Member(json.string("name", fallbackName), model,
                seriesType(json, "view", json.string("view")), weight,
                json.bool("flip_tta", false), bag(json.object("bag").allowOnly("slices",
                        "slice_step", "channels", "channel_mode", "resize", "crop", "level",
                        "flip_other_side", "size", "normalisation")));
    }

    private static BagGeometry bag(JsonFields json) {
        int[] resize = json.has("resize") ? json.size("resize") : new int[] {0, 0};
        int[] size = json.size("size");
        JsonFields crop = json.object("crop").allowOnly("left", "right", "up", "down");
        BagGeometry.ChannelMode channelMode = channelMode(json);
        try {
            return new BagGeometry(json.integer("slices"), json.integer("slice_step", 1),
                    json.integer("channels", 1), channelMode, resize[0], resize[1],
                    crop.number("left"), crop.number("right"), crop.number("up"),
                    crop.number("down"), json.bool("level", false),
                    json.bool("flip_other_side", false), size[0], size[1],
                    normalisation(json));
        } catch (IllegalArgumentException e) {
            if (e instanceof ManifestException) {
                throw e;
            }
            throw json.problem("", e.getMessage());
        }
    }

    private static BagGeometry.ChannelMode channelMode(JsonFields json) {
        String mode = json.string("channel_mode", "repeat");
        return switch (mode) {
            case "repeat" -> BagGeometry.ChannelMode.REPEAT;
            case "adjacent" -> BagGeometry.ChannelMode.ADJACENT;
            default -> throw json.problem("channel_mode",
                    "expected \"repeat\" or \"adjacent\", got \"" + mode + "\"");
        };
    }

    private static Normalisation normalisation(JsonFields json) {
        if (!json.has("normalisation")) {
            return Normalisation.MINMAX;
        }
        if (json.has("normalisation") && !(isString(json, "normalisation"))) {
            JsonFields window = json.object("normalisation").allowOnly("window");
            List<?> bounds = window.list("window");
            if (bounds.size() != 2 || !(bounds.get(0) instanceof Number low)
                    || !(bounds.get(1) instanceof Number high)) {
                throw window.problem("window", "expected [low, high]");
            }
            try {
                return Normalisation.window(low.doubleValue(), high.doubleValue());
            } catch (IllegalArgumentException e) {
                throw window.problem("window", e.getMessage());
            }
        }
        String kind = json.string("normalisation");
        return switch (kind) {
            case "minmax" -> Normalisation.MINMAX;
            case "zscore" -> Normalisation.ZSCORE;
            default -> throw json.problem("normalisation", "expected \"minmax\", \"zscore\" or"
                    + " {\"window\": [low, high]}, got \"" + kind + "\"");
        };
    }

    private static boolean isString(JsonFields json, String key) {
        try {
            json.string(key);
            return true;
        } catch (ManifestException e) {
            return false;
        }
    }

    private static Path modelPath(JsonFields json, String key, Path folder) {
        if (!json.has(key)) {
            return null;
        }
        Path path = folder.resolve(json.string(key));
        if (!Files.isRegularFile(path)) {
            throw json.problem(key, "no model card " + path);
        }
        return path;
    }

    private static SeriesType seriesType(JsonFields json, String key, String value) {
        for (SeriesType type : SeriesType.values()) {
            if (type.name().equalsIgnoreCase(value)) {
                return type;
            }
        }
        return SeriesType.fromDescription(value).orElseThrow(() -> json.problem(key,
                "unknown series type \"" + value + "\": use SAG_T1, SAG_T2 or AX_T2"));
    }

    private static List<Condition> conditionsNamed(JsonFields json, String key) {
        Optional<Condition> condition = Condition.fromKaggleName(key);
        if (condition.isPresent()) {
            return List.of(condition.get());
        }
        for (Condition.Group group : Condition.Group.values()) {
            if (group.kaggleName().equals(key.toLowerCase(Locale.ROOT))) {
                return group.conditions();
            }
        }
        throw json.problem(key, "not a condition: use a Kaggle condition name such as"
                + " spinal_canal_stenosis, or a group name such as subarticular_stenosis");
    }
}
