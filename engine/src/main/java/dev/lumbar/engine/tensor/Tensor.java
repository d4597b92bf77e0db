package dev.lumbar.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense, row-major tensor whose elements live off-heap in a {@link MemorySegment}.
 *
 * <p>A tensor either owns its memory (made by {@link #allocate}, zero-filled, or by
 * {@link BufferPool#allocate}, uninitialised; {@link #close()} frees it or returns it to the
 * pool) or borrows it (made by {@link #wrap}, e.g. a memory-mapped safetensors region;
 * {@code close()} is then a no-op and the lender keeps ownership). Views made by
 * {@link #reshape} borrow from their parent. Owned CPU memory comes from a shared arena so that
 * worker threads of the CPU backend may read and write it; a tensor itself is not thread-safe
 * to close concurrently.
 */
public final class Tensor implements AutoCloseable {

    /** Off-heap buffers are aligned for the widest vector loads the CPU backend issues. */
    public static final long ALIGNMENT = 64;

    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;
    private final Device device;
    private final long[] shape;
    private final MemorySegment data;
    /** Frees or returns owned memory; null when the memory is borrowed or already released. */
    private Runnable owner;

    private Tensor(DType dtype, Device device, long[] shape, MemorySegment data,
            Runnable owner) {
        this.dtype = dtype;
        this.device = device;
        this.shape = shape;
        this.data = data;
        this.owner = owner;
    }

    /** A new zero-filled CPU tensor that owns its memory. */
    public static Tensor allocate(DType dtype, long... shape) {
        long[] dims = checkedShape(shape);
        long bytes = Math.multiplyExact(numel(dims), (long) dtype.byteSize());
        Arena arena = Arena.ofShared();
        try {
            MemorySegment segment = arena.allocate(Math.max(bytes, 1), ALIGNMENT);
            return new Tensor(dtype, Device.CPU, dims, segment.asSlice(0, bytes), arena::close);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** A new zero-filled F32 CPU tensor. */
    public static Tensor zeros(long... shape) {
        return allocate(DType.F32, shape);
    }

    /** A tensor over memory somebody else owns; closing it does not free that memory. */
    public static Tensor wrap(MemorySegment data, DType dtype, Device device, long... shape) {
        long[] dims = checkedShape(shape);
        long bytes = Math.multiplyExact(numel(dims), (long) dtype.byteSize());
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("segment holds " + data.byteSize()
                    + " bytes but shape " + Arrays.toString(dims) + " of " + dtype + " needs "
                    + bytes);
        }
        return new Tensor(dtype, device, dims, data, null);
    }

    /** A tensor over memory that this tensor will own and free with {@code arena}. */
    public static Tensor adopt(MemorySegment data, Arena arena, DType dtype, Device device,
            long... shape) {
        Tensor t = wrap(data, dtype, device, shape);
        t.owner = Objects.requireNonNull(arena)::close;
        return t;
    }

    /** A CPU tensor over a pooled buffer; {@code release} gives the buffer back. */
    static Tensor pooled(DType dtype, long[] dims, MemorySegment data, Runnable release) {
        return new Tensor(dtype, Device.CPU, dims, data, Objects.requireNonNull(release));
    }

    /** A new F32 CPU tensor holding a copy of {@code values}. */
    public static Tensor of(float[] values, long... shape) {
        Tensor t = allocate(DType.F32, shape);
        if (t.numel() != values.length) {
            t.close();
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs "
                    + numel(shape) + " values, got " + values.length);
        }
        MemorySegment.copy(values, 0, t.data, F32_LE, 0, values.length);
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    /** A copy of the shape; use {@link #dim(int)} in loops. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code axis}; negative axes count from the end. */
    public long dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    /** Size of dimension {@code axis} as an int, for loops over in-memory tensors. */
    public int size(int axis) {
        return Math.toIntExact(dim(axis));
    }

    public long numel() {
        return numel(shape);
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** The raw memory. For a CUDA tensor this holds a device address, not host data. */
    public MemorySegment segment() {
        return data;
    }

    public boolean ownsMemory() {
        return owner != null;
    }

    /** A view with a new shape over the same elements; the parent keeps ownership. */
    public Tensor reshape(long... newShape) {
        long[] dims = checkedShape(newShape);
        if (numel(dims) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape)
                    + " to " + Arrays.toString(dims));
        }
        return new Tensor(dtype, device, dims, data, null);
    }

    /** Element {@code index} (flat, row-major) as a float; F32, F16 and BF16 only. */
    public float getFloat(long index) {
        requireHost();
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LE, index);
            case F16 -> Float.float16ToFloat(data.getAtIndex(
                    ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    index));
            case BF16 -> Float.intBitsToFloat(data.getAtIndex(
                    ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    index) << 16);
            case F64 -> (float) data.getAtIndex(
                    ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    index);
            default -> throw new UnsupportedOperationException("getFloat on " + dtype);
        };
    }

    /** Sets element {@code index} (flat, row-major) of an F32 tensor. */
    public void setFloat(long index, float value) {
        requireHost();
        requireDType(DType.F32);
        data.setAtIndex(F32_LE, index, value);
    }

    /** All elements as F32 on the heap (for tests and small outputs). */
    public float[] toFloatArray() {
        requireHost();
        int n = Math.toIntExact(numel());
        float[] out = new float[n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32_LE, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    /** An owned F32 copy of this CPU tensor, converting F16, BF16 or F64 elements. */
    public Tensor toF32() {
        requireHost();
        Tensor out = allocate(DType.F32, shape);
        if (dtype == DType.F32) {
            MemorySegment.copy(data, 0, out.data, 0, data.byteSize());
        } else {
            long n = numel();
            for (long i = 0; i < n; i++) {
                out.data.setAtIndex(F32_LE, i, getFloat(i));
            }
        }
        return out;
    }

    /** An owned copy of this CPU tensor with the same dtype. */
    public Tensor copy() {
        requireHost();
        Tensor out = allocate(dtype, shape);
        MemorySegment.copy(data, 0, out.data, 0, data.byteSize());
        return out;
    }

    public void requireDType(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("expected a " + expected + " tensor, got " + dtype);
        }
    }

    public void requireHost() {
        if (!device.isCpu()) {
            throw new IllegalStateException("tensor lives on " + device + ", not the CPU");
        }
    }

    /**
     * Frees owned memory, or returns it to the {@link BufferPool} it came from; a no-op for
     * borrowed memory and for a second call.
     */
    @Override
    public void close() {
        Runnable release = owner;
        owner = null;
        if (release != null) {
            release.run();
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + device;
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    static long[] checkedShape(long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in "
                        + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }
}
