package dev.lumbar.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {

    @Test
    void runsEveryIterationExactlyOnce() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(1000);
            pool.forEach(1000, hits::incrementAndGet);
            int[] expected = new int[1000];
            java.util.Arrays.fill(expected, 1);
            int[] actual = new int[1000];
            for (int i = 0; i < 1000; i++) {
                actual[i] = hits.get(i);
            }
            assertArrayEquals(expected, actual);
        }
    }

    @Test
    void chunksCoverTheRangeWithoutOverlap() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicLong sum = new AtomicLong();
            AtomicLong count = new AtomicLong();
            pool.forChunks(100_003, 1000, (from, to) -> {
                for (long i = from; i < to; i++) {
                    sum.addAndGet(i);
                }
                count.addAndGet(to - from);
            });
            assertEquals(100_003, count.get());
            assertEquals(100_003L * 100_002 / 2, sum.get());
        }
    }

    @Test
    void moreChunksAThreadStillCoverTheRangeOnce() {
        try (WorkerPool pool = new WorkerPool(2)) {
            for (long count : new long[] {1, 31, 32, 33, 1000, 100_003}) {
                AtomicLong sum = new AtomicLong();
                AtomicLong chunks = new AtomicLong();
                pool.forChunks(count, 1, 16, (from, to) -> {
                    for (long i = from; i < to; i++) {
                        sum.addAndGet(i);
                    }
                    chunks.incrementAndGet();
                });
                assertEquals(count * (count - 1) / 2, sum.get(), count + " iterations");
                // at most 16 a thread; as many where the iterations divide evenly enough
                assertTrue(chunks.get() <= Math.min(32, count), count + ": " + chunks.get());
                if (count == 31 || count >= 1000) {
                    assertEquals(Math.min(32, count), chunks.get(), count + " iterations");
                }
            }
        }
    }

    @Test
    void nestedLoopsRunInlineAndFailuresReachTheCaller() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicLong inner = new AtomicLong();
            pool.forEach(4, i -> pool.forEach(5, j -> inner.incrementAndGet()));
            assertEquals(20, inner.get());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> pool.forEach(10, i -> {
                        if (i == 7) {
                            throw new IllegalStateException("iteration 7 failed");
                        }
                    }));
            assertEquals("iteration 7 failed", e.getMessage());
        }
    }

    /**
     * A loop whose caller has run every iteration itself returns at once, even when its
     * helper task is still queued behind another caller's slow loop on the only worker.
     */
    @Test
    void aFinishedLoopDoesNotWaitForAnotherCallersWork() throws Exception {
        try (WorkerPool pool = new WorkerPool(2)) {
            CountDownLatch slowStarted = new CountDownLatch(2);
            CountDownLatch release = new CountDownLatch(1);
            Thread slow = new Thread(() -> pool.forEach(2, i -> {
                slowStarted.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            slow.start();
            try {
                // both iterations of the slow loop hold its caller and the one worker
                assertTrue(slowStarted.await(10, TimeUnit.SECONDS));
                AtomicLong ran = new AtomicLong();
                Thread quick = new Thread(() -> pool.forEach(4, i -> ran.incrementAndGet()));
                quick.start();
                quick.join(TimeUnit.SECONDS.toMillis(10));
                assertFalse(quick.isAlive(), "the quick loop waited for the slow one's worker");
                assertEquals(4, ran.get());
            } finally {
                release.countDown();
                slow.join();
            }
        }
    }

    /**
     * The caller returns only once the worker's last iteration has finished, its writes seen,
     * and gets the worker's failure: whether that iteration ends while the caller watches for
     * it or long after, when the caller has gone to wait on the task.
     */
    @Test
    void theCallerWaitsForTheWorkersLastIterationShortOrLong() throws Exception {
        try (WorkerPool pool = new WorkerPool(2)) {
            for (long millis : new long[] {0, 2, 50}) {
                for (boolean fail : new boolean[] {false, true}) {
                    String what = millis + " ms, failing " + fail;
                    int[] finished = new int[2];
                    CountDownLatch bothStarted = new CountDownLatch(2);
                    Runnable loop = () -> pool.forEach(2, i -> {
                        // one iteration each: neither takes the other's before both started
                        bothStarted.countDown();
                        awaitQuietly(bothStarted);
                        if (Thread.currentThread().getName().startsWith("lumbar-cpu")) {
                            sleepQuietly(millis);
                            if (fail) {
                                throw new IllegalStateException("worker failed");
                            }
                        }
                        finished[i] = 1;
                    });
                    if (fail) {
                        IllegalStateException e = assertThrows(IllegalStateException.class,
                                loop::run, what);
                        assertEquals("worker failed", e.getMessage(), what);
                        assertEquals(1, finished[0] + finished[1], what);
                    } else {
                        loop.run();
                        assertArrayEquals(new int[] {1, 1}, finished, what);
                    }
                }
            }
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
