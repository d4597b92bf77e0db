package dev.lumbar.engine.model.backbone;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@code backbone.config} values as the JSON parser delivers them (Long, Double, List,
 * String) and rejects keys a family does not know, so that a misspelt override fails loudly
 * instead of silently building the full-size network.
 */
final class Config {

    private Config() {
    }

    static void requireKnownKeys(String arch, Map<String, Object> config, Set<String> known) {
        for (String key : config.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException("backbone.config for " + arch
                        + " has unknown key '" + key + "'; known keys: " + known);
            }
        }
    }

    /**
     * The most blocks a backbone may have and the widest a layer may be. The largest of the
     * families (ConvNeXt-XXLarge: 40 blocks, 3072 channels; EfficientNet-L2: about 100
     * blocks) are far inside; a card past them is a typo, refused before the blocks are built
     * (a billion of them took minutes and gigabytes to run out of memory).
     */
    static final int MAX_BLOCKS = 1000;
    static final int MAX_CHANNELS = 1 << 16;

    /** Refuses {@code blocks} blocks or a layer {@code channels} wide past the limits above. */
    static void requireBuildable(String arch, long blocks, long channels) {
        if (blocks > MAX_BLOCKS || channels > MAX_CHANNELS) {
            throw new IllegalArgumentException(arch + ": backbone.config asks for " + blocks
                    + " blocks and layers up to " + channels + " channels wide; at most "
                    + MAX_BLOCKS + " blocks and " + MAX_CHANNELS + " channels are built");
        }
    }

    static double number(Map<String, Object> config, String key, double fallback) {
        Object value = config.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException("backbone.config." + key + " must be a number, got "
                + value);
    }

    static int[] intArray(Map<String, Object> config, String key, int[] fallback) {
        Object value = config.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof List<?> list) {
            int[] out = new int[list.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(list.get(i) instanceof Number n) || n.doubleValue() != n.intValue()) {
                    throw new IllegalArgumentException("backbone.config." + key
                            + " must hold integers, got " + list);
                }
                out[i] = n.intValue();
            }
            return out;
        }
        if (value instanceof int[] array) {
            return array.clone();
        }
        throw new IllegalArgumentException("backbone.config." + key
                + " must be a list of integers, got " + value);
    }

    /** A list of stages, each one block string or a list of block strings. */
    static List<List<String>> stages(Object value) {
        if (!(value instanceof List<?> stages) || stages.isEmpty()) {
            throw new IllegalArgumentException(
                    "backbone.config.blocks must be a non-empty list of stages, got " + value);
        }
        return stages.stream().map(Config::stage).toList();
    }

    private static List<String> stage(Object stage) {
        if (stage instanceof String block) {
            return List.of(block);
        }
        if (stage instanceof List<?> blocks && !blocks.isEmpty()
                && blocks.stream().allMatch(String.class::isInstance)) {
            return blocks.stream().map(String.class::cast).toList();
        }
        throw new IllegalArgumentException("backbone.config.blocks: a stage must be a block "
                + "string or a non-empty list of them, got " + stage);
    }
}
