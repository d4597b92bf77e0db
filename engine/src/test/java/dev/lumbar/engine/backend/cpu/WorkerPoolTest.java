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
import java.util.concurrent.atomic.AtomicReferenceArray;
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
     * Workers watch for the next loop only briefly, then park: an idle pool burns no CPU. A
     * loop issued after that wakes them, and runs on them as well as on its caller.
     */
    @Test
    void idleWorkersParkAndTheNextLoopWakesThem() throws Exception {
        java.util.Set<Thread> before = workerThreads();
        try (WorkerPool pool = new WorkerPool(3)) {
            pool.forEach(8, i -> { });
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(WorkerPool.WATCH_NANOS) + 200);
            java.util.Set<Thread> workers = workerThreads();
            workers.removeAll(before);
            assertEquals(2, workers.size(), "workers: " + workers);
            assertTrue(workers.stream().allMatch(t -> t.getState() == Thread.State.WAITING),
                    "a worker is not parked: " + workers);

            java.util.Set<String> ran = java.util.concurrent.ConcurrentHashMap.newKeySet();
            CountDownLatch allThree = new CountDownLatch(3);
            pool.forEach(3, i -> {
                ran.add(Thread.currentThread().getName());
                allThree.countDown();
                try {
                    // each iteration waits for the other two, so three threads must run them
                    assertTrue(allThree.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertEquals(3, ran.size(), "threads that ran the loop: " + ran);
        }
    }

    /**
     * Many short loops from two callers at once, as two studies graded side by side issue
     * them: every iteration of every loop runs exactly once, whichever thread runs it, and a
     * failing loop fails only its own caller.
     */
    @Test
    void manyLoopsFromTwoCallersEachRunOnce() throws Exception {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicReferenceArray<Throwable> problems = new AtomicReferenceArray<>(2);
            Thread[] callers = new Thread[2];
            for (int c = 0; c < 2; c++) {
                int caller = c;
                callers[c] = new Thread(() -> {
                    try {
                        java.util.SplittableRandom random = new java.util.SplittableRandom(caller);
                        for (int loop = 0; loop < 3000; loop++) {
                            int count = 1 + random.nextInt(40);
                            AtomicIntegerArray hits = new AtomicIntegerArray(count);
                            if (loop % 500 == 7) {
                                assertThrows(IllegalStateException.class, () -> pool.forEach(
                                        count, i -> {
                                            throw new IllegalStateException("loop failed");
                                        }));
                                continue;
                            }
                            pool.forEach(count, hits::incrementAndGet);
                            for (int i = 0; i < count; i++) {
                                assertEquals(1, hits.get(i), "loop " + loop + ", iteration " + i);
                            }
                        }
                    } catch (Throwable t) {
                        problems.set(caller, t);
                    }
                });
                callers[c].start();
            }
            for (Thread caller : callers) {
                caller.join(TimeUnit.SECONDS.toMillis(60));
                assertFalse(caller.isAlive(), "a caller did not finish");
            }
            for (int c = 0; c < 2; c++) {
                if (problems.get(c) != null) {
                    throw new AssertionError("caller " + c, problems.get(c));
                }
            }
        }
    }

    /** The workers of a pool dropped without being closed stop once it is collected. */
    @Test
    void workersOfADroppedPoolStop() throws Exception {
        java.util.Set<Thread> before = workerThreads();
        WorkerPool pool = new WorkerPool(3);
        pool.forEach(4, i -> { });
        java.util.Set<Thread> started = workerThreads();
        started.removeAll(before);
        assertEquals(2, started.size(), "workers started: " + started);
        pool = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (started.stream().anyMatch(Thread::isAlive) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertTrue(started.stream().noneMatch(Thread::isAlive), "still running: " + started);
    }

    /** The workers of a closed pool stop. */
    @Test
    void workersOfAClosedPoolStop() throws Exception {
        java.util.Set<Thread> before = workerThreads();
        java.util.Set<Thread> started;
        try (WorkerPool pool = new WorkerPool(3)) {
            pool.forEach(4, i -> { });
            started = workerThreads();
            started.removeAll(before);
        }
        for (Thread worker : started) {
            worker.join(TimeUnit.SECONDS.toMillis(10));
            assertFalse(worker.isAlive(), "still running after close: " + worker);
        }
    }

    private static java.util.Set<Thread> workerThreads() {
        java.util.Set<Thread> threads = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("lumbar-cpu-") && t.isAlive()) {
                threads.add(t);
            }
        }
        return threads;
    }
}
