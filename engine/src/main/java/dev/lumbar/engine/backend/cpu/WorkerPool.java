package dev.lumbar.engine.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * A fixed set of threads that run the iterations of a loop: the caller and {@code threads - 1}
 * pool workers. Iterations are handed out one at a time from a shared counter, so uneven
 * iterations balance themselves. A loop issued from inside a loop (a kernel calling another
 * parallel kernel) runs inline on the thread that issued it.
 *
 * <p>Why the caller takes part: a caller that only waited would be a third thread wanting a
 * core on a two-core machine each time it wakes, and every loop would need one more wake-up.
 * For the same reason a caller that has run out of iterations watches for its helpers' last
 * ones a while before it parks ({@link #awaitHelper}). The workers themselves park between
 * loops: workers that watched for the next loop took cores from the pipeline's serial stages
 * (the demo study ran 20 % slower).
 */
final class WorkerPool implements AutoCloseable {

    /** A helper's state in one loop: queued, running its share, or done (or claimed). */
    private static final int QUEUED = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;
    /**
     * How long a caller whose share is done watches for a helper's last iteration before it
     * parks: longer than most iterations, short enough that a slow one costs little CPU.
     */
    private static final long WATCH_NANOS = 200_000;

    private final int threads;
    private final ForkJoinPool pool;
    /** Set while the current thread runs iterations of a loop, so that loops it issues nest. */
    private final ThreadLocal<Boolean> inLoop = ThreadLocal.withInitial(() -> false);

    WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads - 1,
                p -> {
                    var worker = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
                    worker.setName("lumbar-cpu-" + worker.getPoolIndex());
                    worker.setDaemon(true);
                    return worker;
                }, null, false);
    }

    int threads() {
        return threads;
    }

    /**
     * How many threads a loop issued now would run on: the pool's size, or 1 from inside a
     * loop (where loops run inline). Kernels split their work by this.
     */
    int parallelism() {
        return pool == null || nested() ? 1 : threads;
    }

    private boolean nested() {
        return ForkJoinTask.getPool() == pool || inLoop.get();
    }

    /** Runs {@code body.accept(i)} for every i in [0, count), in parallel, and waits. */
    void forEach(int count, IntConsumer body) {
        if (count <= 0) {
            return;
        }
        if (pool == null || count == 1 || nested()) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable share = () -> {
            try {
                for (int i = next.getAndIncrement(); i < count && failure.get() == null;
                        i = next.getAndIncrement()) {
                    body.accept(i);
                }
            } catch (RuntimeException | Error e) {
                failure.compareAndSet(null, e);
            }
        };
        int helpers = Math.min(threads, count) - 1;
        // A helper still queued when the caller has finished its share (the workers busy with
        // another caller's loop) is claimed by the caller and does nothing when it runs, so a
        // loop waits only for its own iterations in flight, never for other callers' work.
        AtomicIntegerArray states = new AtomicIntegerArray(helpers);
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[helpers];
        for (int w = 0; w < helpers; w++) {
            int helper = w;
            tasks[w] = pool.submit(() -> {
                if (states.compareAndSet(helper, QUEUED, RUNNING)) {
                    try {
                        share.run();
                    } finally {
                        states.set(helper, DONE);
                    }
                }
            });
        }
        inLoop.set(true);
        try {
            share.run();
        } finally {
            inLoop.set(false);
        }
        for (int w = 0; w < helpers; w++) {
            if (!states.compareAndSet(w, QUEUED, DONE)) {
                awaitHelper(states, w, tasks[w]);
            }
        }

        // the first failure, as thrown, so its message and stack name the kernel
        Throwable first = failure.get();
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
    }

    /**
     * Waits for a helper that has begun its share: it is finishing its last iteration, so the
     * caller watches for that rather than parking at once. A parked caller is woken through
     * the scheduler, and on a virtual machine whose idle virtual CPU has halted that is slow:
     * on a two-CPU Zen 3 guest a loop of 8 iterations of 80 µs took 90 µs more than half
     * their time with the caller parked, 9–24 µs more with it watching. The watch is bounded,
     * then the caller parks.
     */
    private static void awaitHelper(AtomicIntegerArray states, int helper, ForkJoinTask<?> task) {
        long start = System.nanoTime();
        while (states.get(helper) != DONE) {
            if (System.nanoTime() - start >= WATCH_NANOS) {
                task.join();
                return;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Splits [0, count) into contiguous chunks of at least {@code grain} iterations and runs
     * {@code body.run(from, to)} for each, in parallel: at most four chunks a thread.
     */
    void forChunks(long count, long grain, ChunkBody body) {
        forChunks(count, grain, 4, body);
    }

    /**
     * As {@link #forChunks(long, long, ChunkBody)}, with at most {@code perThread} chunks a
     * thread: more where a chunk's set-up is cheap, so that the threads finish closer together.
     */
    void forChunks(long count, long grain, int perThread, ChunkBody body) {
        if (count <= 0) {
            return;
        }
        long chunks = Math.max(1,
                Math.min((long) threads * perThread, count / Math.max(1, grain)));
        long size = (count + chunks - 1) / chunks;
        int n = (int) ((count + size - 1) / size);
        forEach(n, i -> body.run(i * size, Math.min(count, (i + 1) * size)));
    }

    @FunctionalInterface
    interface ChunkBody {
        void run(long from, long to);
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
