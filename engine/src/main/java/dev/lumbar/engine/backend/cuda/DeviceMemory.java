package dev.lumbar.engine.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator of device memory with a hard limit.
 *
 * <p>{@code cuMemAlloc} and {@code cuMemFree} are slow and synchronise the device, and a
 * forward pass allocates the same sizes over and over; freed blocks are therefore kept per
 * rounded size and handed out again. Every block is used on the backend's one stream, so a
 * block freed by the host while a kernel still reads it is only reused by work queued after
 * that kernel: stream order makes the reuse safe.
 *
 * <p>The limit counts live and cached bytes. When an allocation would pass it, the cache is
 * released first; if live memory alone is too large, the allocation fails with a message
 * giving the limit and the sizes. Thread-safe: tensors may be closed on any thread.
 */
final class DeviceMemory implements AutoCloseable {

    /** Blocks are rounded up to this granularity so that near sizes share cache entries. */
    private static final long GRANULE = 512;

    /** Raw allocation and release of device memory (the driver, or a fake in tests). */
    interface Allocator {
        long allocate(long bytes);

        void free(long address);
    }

    private final Allocator allocator;
    private final long limitBytes;
    private final Map<Long, Deque<Long>> cached = new HashMap<>();
    private final Map<Long, Long> liveSizes = new HashMap<>();
    private long liveBytes;
    private long cachedBytes;
    private long peakBytes;
    private boolean closed;
    /** Blocks handed out while a CUDA graph is being captured; null when not capturing. */
    private java.util.Set<Long> recording;
    /** Blocks released during a capture, kept for the graph that uses them: size by address. */
    private final Map<Long, Long> reserved = new HashMap<>();
    private long reservedBytes;
    private java.util.function.LongConsumer releaseListener = address -> { };

    DeviceMemory(Allocator allocator, long limitBytes) {
        this.allocator = allocator;
        this.limitBytes = limitBytes;
    }

    static long rounded(long bytes) {
        long size = Math.max(bytes, 1);
        return (size + GRANULE - 1) / GRANULE * GRANULE;
    }

    /** A device block of at least {@code bytes}; its address. */
    synchronized long allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("device memory is closed");
        }
        long size = rounded(bytes);
        Deque<Long> free = cached.get(size);
        if (free != null && !free.isEmpty()) {
            long address = free.pop();
            cachedBytes -= size;
            return track(address, size);
        }
        if (liveBytes + cachedBytes + reservedBytes + size > limitBytes) {
            releaseCache();
        }
        if (liveBytes + reservedBytes + size > limitBytes) {
            throw new IllegalStateException("device memory limit of " + mib(limitBytes)
                    + " MiB reached: " + mib(liveBytes + reservedBytes) + " MiB in use, "
                    + mib(size)
                    + " MiB more requested (raise it with --gpu-memory or use smaller batches)");
        }
        long address;
        try {
            address = allocator.allocate(size);
        } catch (RuntimeException e) {
            // The device may be shared: give back what we cache and try once more.
            releaseCache();
            address = allocator.allocate(size);
        }
        return track(address, size);
    }

    private long track(long address, long size) {
        if (recording != null) {
            recording.add(address);
        }
        liveSizes.put(address, size);
        liveBytes += size;
        peakBytes = Math.max(peakBytes, liveBytes);
        return address;
    }

    /** Returns a block to the cache. */
    synchronized void release(long address) {
        if (closed) {
            // The backend closed first and freed everything; a tensor closed later is fine.
            return;
        }
        Long size = liveSizes.remove(address);
        if (size == null) {
            throw new IllegalStateException("device block 0x" + Long.toHexString(address)
                    + " was not allocated here or was released twice");
        }
        liveBytes -= size;
        cached.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
        cachedBytes += size;
        releaseListener.accept(address);
    }

    /** Called with the address of every block released, e.g. to drop data derived from it. */
    synchronized void onRelease(java.util.function.LongConsumer listener) {
        releaseListener = listener;
    }

    /**
     * Starts recording the blocks handed out, for a CUDA graph capture: the graph bakes their
     * addresses in, so they must stay reserved for it after the capture.
     */
    synchronized void beginRecording() {
        if (recording != null) {
            throw new IllegalStateException("a capture is already being recorded");
        }
        recording = new java.util.LinkedHashSet<>();
    }

    /**
     * Ends recording and reserves for the graph every recorded block that was released during
     * the capture (blocks still live stay with their tensors). Returns the reserved addresses,
     * which {@link #unreserve} hands back to the cache when the graph is destroyed.
     */
    synchronized java.util.Set<Long> endRecording() {
        java.util.Set<Long> recorded = recording;
        recording = null;
        if (recorded == null) {
            throw new IllegalStateException("no capture is being recorded");
        }
        java.util.Set<Long> taken = new java.util.HashSet<>();
        for (Map.Entry<Long, Deque<Long>> entry : cached.entrySet()) {
            java.util.Iterator<Long> blocks = entry.getValue().iterator();
            while (blocks.hasNext()) {
                long address = blocks.next();
                if (recorded.contains(address)) {
                    blocks.remove();
                    cachedBytes -= entry.getKey();
                    reserved.put(address, entry.getKey());
                    reservedBytes += entry.getKey();
                    taken.add(address);
                }
            }
        }
        return taken;
    }

    /** Returns blocks reserved by {@link #endRecording} to the cache. */
    synchronized void unreserve(java.util.Set<Long> addresses) {
        if (closed) {
            return;
        }
        for (long address : addresses) {
            Long size = reserved.remove(address);
            if (size != null) {
                reservedBytes -= size;
                cached.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
                cachedBytes += size;
            }
        }
    }

    synchronized long reservedBytes() {
        return reservedBytes;
    }

    /** Frees every cached block back to the device. */
    synchronized void releaseCache() {
        for (Deque<Long> blocks : cached.values()) {
            for (long address : blocks) {
                allocator.free(address);
            }
        }
        cached.clear();
        cachedBytes = 0;
    }

    /**
     * An {@link Arena} whose {@code close()} returns {@code address} to this allocator, so a
     * {@code Tensor} can own device memory through {@code Tensor.adopt}.
     */
    Arena ownerOf(long address) {
        return new Arena() {
            private boolean closed;
    /** Blocks handed out while a CUDA graph is being captured; null when not capturing. */
    private java.util.Set<Long> recording;
    /** Blocks released during a capture, kept for the graph that uses them: size by address. */
    private final Map<Long, Long> reserved = new HashMap<>();
    private long reservedBytes;
    private java.util.function.LongConsumer releaseListener = address -> { };

            @Override
            public MemorySegment allocate(long byteSize, long byteAlignment) {
                throw new UnsupportedOperationException("device memory is not host memory");
            }

            @Override
            public MemorySegment.Scope scope() {
                return Arena.global().scope();
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    release(address);
                }
            }
        };
    }

    synchronized long liveBytes() {
        return liveBytes;
    }

    synchronized long cachedBytes() {
        return cachedBytes;
    }

    synchronized long peakBytes() {
        return peakBytes;
    }

    long limitBytes() {
        return limitBytes;
    }

    /** Frees everything, live blocks included (the backend is closing). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        releaseCache();
        for (long address : reserved.keySet()) {
            allocator.free(address);
        }
        reserved.clear();
        reservedBytes = 0;
        for (long address : liveSizes.keySet()) {
            allocator.free(address);
        }
        liveSizes.clear();
        liveBytes = 0;
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }
}
