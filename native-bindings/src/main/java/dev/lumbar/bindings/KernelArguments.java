package dev.lumbar.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code void** kernelParams} array of {@code cuLaunchKernel}: one host pointer per kernel
 * parameter, each pointing at that parameter's value. Values are added in the kernel's
 * parameter order with the exact C type of each parameter.
 */
public final class KernelArguments {

    private sealed interface Value permits DevicePointer, Int32, Int64, Float32 {}

    private record DevicePointer(long address) implements Value {}

    private record Int32(int value) implements Value {}

    private record Int64(long value) implements Value {}

    private record Float32(float value) implements Value {}

    private final List<Value> values = new ArrayList<>();

    /** A {@code T*} device pointer parameter. */
    public KernelArguments pointer(long deviceAddress) {
        values.add(new DevicePointer(deviceAddress));
        return this;
    }

    /** An {@code int} parameter. */
    public KernelArguments i32(int value) {
        values.add(new Int32(value));
        return this;
    }

    /** A {@code long long} parameter. */
    public KernelArguments i64(long value) {
        values.add(new Int64(value));
        return this;
    }

    /** A {@code float} parameter. */
    public KernelArguments f32(float value) {
        values.add(new Float32(value));
        return this;
    }

    /**
     * One letter per parameter: {@code p} device pointer, {@code i} int, {@code l} long long,
     * {@code f} float.
     */
    public String signature() {
        StringBuilder out = new StringBuilder(values.size());
        for (Value value : values) {
            out.append(switch (value) {
                case DevicePointer p -> 'p';
                case Int32 v -> 'i';
                case Int64 v -> 'l';
                case Float32 v -> 'f';
            });
        }
        return out.toString();
    }

    public int count() {
        return values.size();
    }

    /** Lays the values and the pointer array out in {@code arena}; returns the array. */
    public MemorySegment pack(Arena arena) {
        MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, Math.max(1, values.size()));
        for (int i = 0; i < values.size(); i++) {
            MemorySegment slot = switch (values.get(i)) {
                case DevicePointer p -> arena.allocateFrom(ValueLayout.JAVA_LONG, p.address());
                case Int32 v -> arena.allocateFrom(ValueLayout.JAVA_INT, v.value());
                case Int64 v -> arena.allocateFrom(ValueLayout.JAVA_LONG, v.value());
                case Float32 v -> arena.allocateFrom(ValueLayout.JAVA_FLOAT, v.value());
            };
            pointers.setAtIndex(ValueLayout.ADDRESS, i, slot);
        }
        return pointers;
    }
}
