package dev.lumbar.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The OpenBLAS binding on the installed library; skipped where none is installed. */
class OpenBlasTest {

    private static OpenBlas blas() {
        var blas = OpenBlas.load();
        Assumptions.assumeTrue(blas.isPresent(), "OpenBLAS is not installed");
        return blas.get();
    }

    @Test
    void loadsOnceAndReportsItsVersion() {
        OpenBlas blas = blas();
        assertTrue(OpenBlas.load().get() == blas, "a second load returns the same binding");
        assertTrue(blas.version().matches("\\d+\\.\\d+(\\.\\d+)?"), blas.config());
    }

    @Test
    void setsTheThreadCount() {
        OpenBlas blas = blas();
        blas.setThreads(1);
        assertEquals(1, blas.threads());
    }

    @Test
    void multipliesRowMajorWithTranspositions() {
        OpenBlas blas = blas();
        try (Arena arena = Arena.ofConfined()) {
            // A = [[1, 2, 3], [4, 5, 6]] (2×3), B = [[1, 0], [0, 1], [1, 1]] (3×2)
            MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 2, 3, 4, 5, 6);
            MemorySegment b = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 0, 0, 1, 1, 1);
            MemorySegment c = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 10, 10, 10, 10);
            blas.sgemm(false, false, 2, 2, 3, 1f, a, 3, b, 2, 1f, c, 2);
            assertArrayEquals(new float[] {14, 15, 20, 21},
                    c.toArray(ValueLayout.JAVA_FLOAT));

            // Aᵀ · Aᵀᵀ: the 3×3 Gram matrix of A's columns, reading A transposed
            MemorySegment g = arena.allocate(ValueLayout.JAVA_FLOAT, 9);
            blas.sgemm(true, false, 3, 3, 2, 1f, a, 3, a, 3, 0f, g, 3);
            assertArrayEquals(new float[] {17, 22, 27, 22, 29, 36, 27, 36, 45},
                    g.toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void refusesMemoryTooSmallOrOnTheHeap() {
        OpenBlas blas = blas();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(ValueLayout.JAVA_FLOAT, 3);
            MemorySegment c = arena.allocate(ValueLayout.JAVA_FLOAT, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> blas.sgemm(false, false, 2, 2, 2, 1f, small, 2, small, 2, 0f, c, 2));
            assertTrue(e.getMessage().contains("A holds 12 bytes"), e.getMessage());
            MemorySegment heap = MemorySegment.ofArray(new float[4]);
            MemorySegment four = arena.allocate(ValueLayout.JAVA_FLOAT, 4);
            e = assertThrows(IllegalArgumentException.class,
                    () -> blas.sgemm(false, false, 2, 2, 2, 1f, heap, 2, four, 2, 0f, c, 2));
            assertTrue(e.getMessage().contains("not native"), e.getMessage());
        }
    }
}
