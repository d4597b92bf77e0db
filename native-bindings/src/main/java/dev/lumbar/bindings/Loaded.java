package dev.lumbar.bindings;

import java.util.Optional;
import java.util.function.BiFunction;

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

    /**
     * Binds an opened library: its symbols (named after {@code libraryName} in errors) go to
     * {@code binding} with the library's origin. A library that did not open, or lacks a symbol
     * the binding needs, comes back missing with the reason.
     */
    static <T> Loaded<T> bind(NativeLibraries.Opened opened, String libraryName,
            BiFunction<Symbols, String, T> binding) {
        if (!opened.ok()) {
            return missing(opened.reason());
        }
        try {
            Symbols symbols = new Symbols(opened.symbols().orElseThrow(), libraryName);
            return of(binding.apply(symbols, opened.origin()), opened.origin());
        } catch (UnsupportedOperationException e) {
            return missing(e.getMessage());
        }
    }

    public boolean ok() {
        return binding.isPresent();
    }
}
