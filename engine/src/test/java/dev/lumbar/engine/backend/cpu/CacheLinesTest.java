package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The address of heap arrays, and packed weights kept on a cache line: moved only where no
 * call is reading them, and always the same floats wherever they start.
 */
class CacheLinesTest {

    @Test
    void findsTheFirstElementOnALine() {
        assertTrue(CacheLines.known(), "the tests run with native access");
        for (int n = 1; n < 40; n++) {
            float[] a = new float[1000 + n];
            long address = CacheLines.address(a);
            int first = CacheLines.firstOnLine(a);
            // the collector may move the array between the two calls: then both are read again
            if (CacheLines.address(a) != address) {
                n--;
                continue;
            }
            assertEquals(0, address % Float.BYTES);
            assertTrue(first >= 0 && first < CacheLines.LINE_FLOATS, "first " + first);
            assertEquals(0, (address + (long) first * Float.BYTES) % CacheLines.LINE,
                    "address " + address + ", first " + first);
        }
    }

    @Test
    void anEmptyArrayHasNoAddress() {
        assertEquals(-1, CacheLines.address(new float[0]));
        assertEquals(0, CacheLines.firstOnLine(new float[0]));
    }

    @Test
    void stripsKeepTheirFloatsWhereverTheyStart() {
        float[] packed = new float[1234];
        for (int i = 0; i < packed.length; i++) {
            packed[i] = i * 0.5f - 300;
        }
        PixelProducts.HeapStrips strips = new PixelProducts.HeapStrips(packed);
        assertEquals(packed.length, strips.length);
        for (int to : new int[] {5, 0, 15, 7}) {
            assertTrue(strips.moveTo(to));
            assertEquals(to, strips.first());
            assertArrayEquals(packed, Arrays.copyOfRange(strips.floats, to, to + packed.length));
        }
        int first = strips.acquire();
        try {
            // acquire has put them on a line, unless the collector moved the array just after
            assertArrayEquals(packed,
                    Arrays.copyOfRange(strips.floats, first, first + packed.length));
        } finally {
            strips.release();
        }
    }

    @Test
    void stripsStayPutWhileACallReadsThem() throws Exception {
        float[] packed = new float[256];
        for (int i = 0; i < packed.length; i++) {
            packed[i] = i;
        }
        PixelProducts.HeapStrips strips = new PixelProducts.HeapStrips(packed);
        int first = strips.acquire();
        try {
            int other = (first + 3) % CacheLines.LINE_FLOATS;
            // another thread: the read lock held here keeps its move out
            assertFalse(CompletableFuture.supplyAsync(() -> strips.moveTo(other)).get());
            assertEquals(first, strips.first());
        } finally {
            strips.release();
        }
        assertTrue(CompletableFuture.supplyAsync(() -> strips.moveTo(9)).get());
        assertArrayEquals(packed, Arrays.copyOfRange(strips.floats, 9, 9 + packed.length));
    }
}
