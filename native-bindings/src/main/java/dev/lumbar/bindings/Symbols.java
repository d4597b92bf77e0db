package dev.lumbar.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** Binds {@link NativeFunction}s of one opened library to method handles. */
final class Symbols {

    static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong C_SIZE_T = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    /** Any pointer or opaque handle. */
    static final AddressLayout C_POINTER = ValueLayout.ADDRESS;
    /** CUDA device addresses are 64-bit integers, not host pointers. */
    static final ValueLayout.OfLong C_DEVICE_PTR = ValueLayout.JAVA_LONG;

    /** Longest C string read back from a library (error texts, names). */
    private static final long MAX_STRING = 4096;

    private final SymbolLookup lookup;
    private final String libraryName;

    Symbols(SymbolLookup lookup, String libraryName) {
        this.lookup = lookup;
        this.libraryName = libraryName;
    }

    static NativeFunction fn(String symbol, MemoryLayout result, MemoryLayout... args) {
        return NativeFunction.of(symbol, FunctionDescriptor.of(result, args));
    }

    static NativeFunction fnVoid(String symbol, MemoryLayout... args) {
        return NativeFunction.of(symbol, FunctionDescriptor.ofVoid(args));
    }

    /** A handle to the first of the function's symbols the library exports. */
    MethodHandle bind(NativeFunction function) {
        return find(function).orElseThrow(() -> new UnsupportedOperationException(libraryName
                + " does not export " + String.join(" or ", function.symbols())
                + "; the installed version is too old or not the expected library"));
    }

    Optional<MethodHandle> find(NativeFunction function) {
        for (String symbol : function.symbols()) {
            Optional<MemorySegment> address = lookup.find(symbol);
            if (address.isPresent()) {
                return Optional.of(Linker.nativeLinker().downcallHandle(address.get(),
                        function.descriptor()));
            }
        }
        return Optional.empty();
    }

    /**
     * A device address as the {@code void*} that cuBLAS and cuDNN take (the driver API's
     * {@code CUdeviceptr} is an integer instead; both are 64 bits wide).
     */
    static MemorySegment device(long deviceAddress) {
        return MemorySegment.ofAddress(deviceAddress);
    }

    /** Reads a NUL-terminated string a library returned; null pointers read as "". */
    static String cString(MemorySegment pointer) {
        if (pointer == null || pointer.equals(MemorySegment.NULL)) {
            return "";
        }
        return pointer.reinterpret(MAX_STRING).getString(0);
    }

    /** Calls a handle whose C result is an int status code. */
    static int callInt(MethodHandle handle, Object... args) {
        try {
            return (int) handle.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed", t);
        }
    }

    /** Calls a handle whose result is a pointer, a size_t, or nothing. */
    static Object call(MethodHandle handle, Object... args) {
        try {
            return handle.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed", t);
        }
    }

    /** A confined arena for the out-parameters of one call. */
    static Arena scratch() {
        return Arena.ofConfined();
    }
}
