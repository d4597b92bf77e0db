package dev.lumbar.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.util.List;

/**
 * A C function as this package calls it: the exported symbol names to try, in order, and the
 * signature. Several names exist where a library exports a newer versioned symbol (e.g.
 * {@code cuEventElapsedTime_v2}) that older drivers lack; all names share the signature.
 */
public record NativeFunction(List<String> symbols, FunctionDescriptor descriptor) {

    public NativeFunction {
        symbols = List.copyOf(symbols);
        if (symbols.isEmpty()) {
            throw new IllegalArgumentException("a native function needs a symbol name");
        }
    }

    static NativeFunction of(String symbol, FunctionDescriptor descriptor) {
        return new NativeFunction(List.of(symbol), descriptor);
    }

    /** The preferred symbol name. */
    public String name() {
        return symbols.getFirst();
    }
}
