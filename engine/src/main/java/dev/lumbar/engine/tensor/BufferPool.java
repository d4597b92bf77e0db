package dev.lumbar.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Reusable off-heap CPU buffers for tensors that a kernel overwrites completely.
 *
 * <p>{@link #allocate} hands out a tensor whose elements are <em>not</em> initialised: it may
 * hold what an earlier, closed tensor left there. Closing that tensor returns its buffer to
 * the pool instead of freeing it, so the next tensor of a similar size reuses memory that is
 * already mapped: a forward pass that allocates the same activation shapes on every call
 * neither zero-fills nor page-faults them after the first call, and no shared arena is closed
 * (closing one stops every thread for a moment).
 *
 * <p>Buffers are grouped by size class (a power of two and three quarter steps between, so at
 * most a quarter is wasted). Idle buffers are kept up to {@code maxIdleBytes} in total; a
 * buffer returned beyond that is freed. {@link #close()} frees the idle buffers; buffers still
 * held by open tensors are freed when those tensors close. Safe to use from several threads.
 */
public final class BufferPool implements AutoCloseable {

    /** Buffers below this size come from the pool too, rounded up to the alignment. */
    private static final long SMALLEST_CLASS = 4096;

    private final long maxIdleBytes;
    private final Map<Long, ArrayDeque<Buffer>> idle = new HashMap<>();
    private long idleBytes;
    private boolean closed;

    /** One allocation: the arena that frees it and its full, size-class-long segment. */
    private record Buffer(Arena arena, MemorySegment segment) {
    }

    /** A pool that keeps at most {@code maxIdleBytes} of returned buffers for reuse. */
    public BufferPool(long maxIdleBytes) {
        if (maxIdleBytes < 0) {
            throw new IllegalArgumentException("negative pool limit " + maxIdleBytes);
        }
        this.maxIdleBytes = maxIdleBytes;
    }

    /**
     * A CPU tensor with uninitialised elements that owns a pooled buffer; {@code close()}
     * gives the buffer back. Use it only where every element is written before it is read.
     */
    public Tensor allocate(DType dtype, long... shape) {
        long[] dims = Tensor.checkedShape(shape);
        long bytes = Math.multiplyExact(Tensor.numel(dims), (long) dtype.byteSize());
        // LIMITATION: a view (reshape) used after its pooled parent was closed is not caught,
        // as it would be with a closed arena; it reads whatever the buffer's next user wrote.
        Buffer buffer = take(sizeClass(bytes));
        return Tensor.pooled(dtype, dims, buffer.segment().asSlice(0, bytes),
                () -> give(buffer));
    }

    /** An uninitialised F32 tensor; see {@link #allocate(DType, long...)}. */
    public Tensor allocate(long... shape) {
        return allocate(DType.F32, shape);
    }

    /** Bytes held by idle buffers now. */
    public synchronized long idleBytes() {
        return idleBytes;
    }

    /** Frees the idle buffers; later returns are freed at once. */
    @Override
    public void close() {
        ArrayDeque<Buffer> doomed = new ArrayDeque<>();
        synchronized (this) {
            closed = true;
            idle.values().forEach(doomed::addAll);
            idle.clear();
            idleBytes = 0;
        }
        doomed.forEach(b -> b.arena().close());
    }

    /** The size class for {@code bytes}: 4 KiB at least, else 1, 1.25, 1.5 or 1.75 · 2^k. */
    static long sizeClass(long bytes) {
        if (bytes <= SMALLEST_CLASS) {
            return SMALLEST_CLASS;
        }
        long power = Long.highestOneBit(bytes);
        long quarter = Math.max(SMALLEST_CLASS, power / 4);
        return Math.multiplyExact((bytes + quarter - 1) / quarter, quarter);
    }

    private Buffer take(long size) {
        synchronized (this) {
            ArrayDeque<Buffer> list = idle.get(size);
            Buffer reused = list == null ? null : list.pollLast();
            if (reused != null) {
                idleBytes -= size;
                return reused;
            }
        }
        // a shared arena, because the backend's worker threads write the buffer
        Arena arena = Arena.ofShared();
        try {
            return new Buffer(arena, arena.allocate(size, Tensor.ALIGNMENT));
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    private void give(Buffer buffer) {
        long size = buffer.segment().byteSize();
        synchronized (this) {
            if (!closed && idleBytes + size <= maxIdleBytes) {
                idle.computeIfAbsent(size, s -> new ArrayDeque<>()).addLast(buffer);
                idleBytes += size;
                return;
            }
        }
        buffer.arena().close();
    }
}
