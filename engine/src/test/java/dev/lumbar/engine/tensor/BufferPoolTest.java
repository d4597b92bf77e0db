package dev.lumbar.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Reuse, size classes, the idle limit and closing of {@link BufferPool}. */
class BufferPoolTest {

    @Test
    void closedTensorsBufferIsReusedBySimilarSize() {
        try (BufferPool pool = new BufferPool(1L << 20)) {
            Tensor first = pool.allocate(10, 100);
            long address = first.segment().address();
            first.setFloat(7, 42f);
            first.close();
            assertEquals(BufferPool.sizeClass(4000), pool.idleBytes());

            // 990 floats fall into the same size class as 1000: same buffer, old contents
            try (Tensor second = pool.allocate(990)) {
                assertEquals(address, second.segment().address());
                assertEquals(990L * Float.BYTES, second.byteSize());
                assertEquals(42f, second.getFloat(7));
                assertTrue(second.ownsMemory());
                assertEquals(0, pool.idleBytes());
            }
        }
    }

    @Test
    void tensorsOpenAtOnceGetDistinctBuffers() {
        try (BufferPool pool = new BufferPool(1L << 20);
                Tensor a = pool.allocate(256);
                Tensor b = pool.allocate(256)) {
            assertNotEquals(a.segment().address(), b.segment().address());
            assertEquals(0, a.segment().address() % Tensor.ALIGNMENT);
        }
    }

    @Test
    void sizeClassesWasteAtMostAQuarter() {
        assertEquals(4096, BufferPool.sizeClass(0));
        assertEquals(4096, BufferPool.sizeClass(4096));
        assertEquals(8192, BufferPool.sizeClass(4097));
        for (long bytes = 5000; bytes < 1L << 34; bytes = bytes * 3 / 2 + 17) {
            long size = BufferPool.sizeClass(bytes);
            assertTrue(size >= bytes && size <= bytes * 5 / 4 + 4096, bytes + " -> " + size);
            assertEquals(size, BufferPool.sizeClass(size), "a class is its own class");
        }
    }

    @Test
    void returnsBeyondTheIdleLimitAreFreed() {
        try (BufferPool pool = new BufferPool(8192)) {
            Tensor a = pool.allocate(1024);
            Tensor b = pool.allocate(1024);
            Tensor c = pool.allocate(1024);
            a.close();
            b.close();
            c.close();
            assertEquals(8192, pool.idleBytes());
            c.close();  // a second close changes nothing
            assertEquals(8192, pool.idleBytes());
        }
    }

    @Test
    void closingThePoolFreesIdleBuffersAndLaterReturns() {
        BufferPool pool = new BufferPool(1L << 20);
        Tensor kept = pool.allocate(3, 4);
        pool.allocate(64).close();
        pool.close();
        assertEquals(0, pool.idleBytes());
        kept.setFloat(11, 1.5f);
        assertArrayEquals(new long[] {3, 4}, kept.shape());
        kept.close();
        assertEquals(0, pool.idleBytes());
    }
}
