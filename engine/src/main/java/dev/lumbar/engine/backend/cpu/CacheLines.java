package dev.lumbar.engine.backend.cpu;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Where a heap {@code float[]}'s elements meet a 64-byte cache line, so that vectors read from
 * it can start on one.
 *
 * <p>Why: a 16-float vector read from an address that is not a multiple of 64 spans two cache
 * lines, and the inverted residuals' register tile reads two such vectors of weights for every
 * 12 multiply-adds. On an AVX-512 Xeon that tile ran 155–166 GFLOP/s a core on weights that
 * start on a line, against 133–150 elsewhere, and whole EfficientNetV2-S forwards ran 3–4 %
 * faster with those weights on a line than 8 bytes past one. The collector places arrays at
 * any multiple of 8 bytes, and Java reports no address for heap memory. A critical downcall
 * ({@link Linker.Option#critical(boolean)} with heap access) hands native code the address of
 * the array's first element for the duration of the call, and {@code memmove} with a length of
 * zero returns its destination untouched: that is the address, at the moment of the call (the
 * collector may move the array afterwards).
 */
final class CacheLines {

    /** Bytes in a cache line. */
    static final int LINE = 64;

    /** Floats in a cache line. */
    static final int LINE_FLOATS = LINE / Float.BYTES;

    /** {@code void* memmove(void* dst, const void* src, size_t n)}, or null where absent. */
    private static final MethodHandle MEMMOVE = memmove();

    private CacheLines() {
    }

    // LIMITATION: without native access, or without a memmove in the default lookup, no
    // address is known and arrays are read wherever they lie
    private static MethodHandle memmove() {
        if (!CacheLines.class.getModule().isNativeAccessEnabled()) {
            // asking the linker would only print the JVM's warning about native access
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("memmove")
                    .map(memmove -> linker.downcallHandle(memmove,
                            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                            Linker.Option.critical(true)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            // no native linker, or no access to it: arrays are used wherever they lie
            return null;
        }
    }

    /** Whether the addresses of heap arrays can be known here. */
    static boolean known() {
        return MEMMOVE != null;
    }

    /**
     * The address of {@code a[0]} now, or -1 where it cannot be known (no native access, or an
     * empty array).
     */
    static long address(float[] a) {
        if (MEMMOVE == null || a.length == 0) {
            return -1;
        }
        MemorySegment array = MemorySegment.ofArray(a);
        try {
            return ((MemorySegment) MEMMOVE.invokeExact(array, array, 0L)).address();
        } catch (RuntimeException e) {
            // a call refused (a thread or access check): the array is read where it lies
            return -1;
        } catch (Error e) {
            throw e;
        } catch (Throwable e) {
            throw new AssertionError("memmove through " + MEMMOVE.type(), e);
        }
    }

    /**
     * The first index of {@code a}, 0 to 15, whose element starts a cache line now; 0 where the
     * address cannot be known.
     */
    static int firstOnLine(float[] a) {
        long address = address(a);
        return address < 0 ? 0 : (int) ((LINE - address % LINE) % LINE / Float.BYTES);
    }
}
