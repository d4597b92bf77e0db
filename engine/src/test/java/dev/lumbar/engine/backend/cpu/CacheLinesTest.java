package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The address of heap arrays, and packed weights kept on a cache line: moved only where no
 * call is reading them, and always the same floats wherever they start.
 */
class CacheLinesTest {

    /** Tries of a check that the collector may spoil by moving the array in between. */
    private static final int TRIES = 100;

    @Test
    void findsTheFirstElementOnALine() {
        assumeTrue(CacheLines.known(), "heap addresses need native access");
        for (int n = 1; n < 40; n++) {
            float[] a = new float[1000 + n];
            for (int attempt = 0; attempt < TRIES; attempt++) {
                long address = CacheLines.address(a);
                int first = CacheLines.firstOnLine(a);
                if (CacheLines.address(a) != address) {
                    continue; // moved between the two calls: look again
                }
                assertEquals(0, address % Float.BYTES);
                assertTrue(first >= 0 && first < CacheLines.LINE_FLOATS, "first " + first);
                assertEquals(0, (address + (long) first * Float.BYTES) % CacheLines.LINE,
                        "address " + address + ", first " + first);
                break;
            }
        }
    }

    @Test
    void anEmptyArrayHasNoAddress() {
        assertEquals(-1, CacheLines.address(new float[0]));
        assertEquals(0, CacheLines.firstOnLine(new float[0]));
    }

    @Test
    void stripsKeepTheirFloatsWhereverTheyStart() {
        float[] packed = values(1234);
        PixelProducts.HeapStrips strips = filled(packed);
        assertEquals(packed.length, strips.length);
        for (int to : new int[] {5, 0, 15, 7}) {
            assertTrue(strips.moveTo(to));
            assertEquals(to, strips.first());
            assertArrayEquals(packed, Arrays.copyOfRange(strips.floats, to, to + packed.length));
        }
        assertThrows(IllegalArgumentException.class, () -> strips.moveTo(16));
        assertThrows(IllegalArgumentException.class, () -> strips.moveTo(-1));
    }

    @Test
    void aReadMovesStripsThatLeftTheirLineBackOntoIt() {
        assumeTrue(CacheLines.known(), "heap addresses need native access");
        float[] packed = values(4096);
        PixelProducts.HeapStrips strips = filled(packed);
        for (int attempt = 0; attempt < TRIES; attempt++) {
            // off the line, as after the collector has moved the array
            int line = CacheLines.firstOnLine(strips.floats);
            assertTrue(strips.moveTo((line + 2) % CacheLines.LINE_FLOATS));
            int first = strips.acquire();
            try {
                assertArrayEquals(packed,
                        Arrays.copyOfRange(strips.floats, first, first + packed.length));
                if (CacheLines.firstOnLine(strips.floats) != line) {
                    continue; // the collector moved it meanwhile: try again
                }
                assertEquals(line, first);
                return;
            } finally {
                strips.release();
            }
        }
        throw new AssertionError("the array moved in every one of " + TRIES + " tries");
    }

    @Test
    void stripsStayPutWhileACallReadsThem() throws Exception {
        float[] packed = values(256);
        PixelProducts.HeapStrips strips = filled(packed);
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

    private static float[] values(int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i * 0.5f - 300;
        }
        return values;
    }

    private static PixelProducts.HeapStrips filled(float[] packed) {
        PixelProducts.HeapStrips strips = new PixelProducts.HeapStrips(packed.length);
        System.arraycopy(packed, 0, strips.floats, strips.first(), packed.length);
        return strips;
    }
}
