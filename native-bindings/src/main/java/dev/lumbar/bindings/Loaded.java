package dev.lumbar.bindings;

import java.util.Optional;

/**
 * The outcome of loading a native library binding: the binding, where it came from, or the
 * plain reason it is not usable (missing file, missing symbol, too old).
 */
public record Loaded<T>(Optional<T> binding, String origin, String reason) {

    public static <T> Loaded<T> of(T binding, String origin) {
        return new Loaded<>(Optional.of(binding), origin, "");
    }

    public static <T> Loaded<T> missing(String reason) {
        return new Loaded<>(Optional.empty(), "", reason);
    }

    public boolean ok() {
        return binding.isPresent();
    }
}
