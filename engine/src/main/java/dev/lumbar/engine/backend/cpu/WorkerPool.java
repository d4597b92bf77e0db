package dev.lumbar.engine.backend.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of threads that run the iterations of a loop: the caller and {@code threads - 1}
 * workers of its own. Iterations are handed out one at a time from a shared counter, so uneven
 * iterations balance themselves. A loop issued from inside a loop (a kernel calling another
 * parallel kernel) runs inline on the thread that issued it, and so does a loop issued while
 * another caller's loop holds the workers.
 *
 * <p>Why the caller takes part: a caller that only waited would be a third thread wanting a
 * core on a two-core machine each time it wakes, and every loop would need one more wake-up.
 *
 * <p>Why the workers watch for the next loop for a while ({@link #WATCH_NANOS}) before they
 * park: a forward is a few hundred loops with microseconds between them, and a parked worker
 * must be woken, which on a virtual machine means waking its idle virtual CPU. Against the
 * {@code ForkJoinPool} this replaces, tf_efficientnetv2_s forwards of 25 × 128² ran faster
 * in each of 9 interleaved pairs of processes (by 0.3–9 %, median 2 %), and the other
 * backbones and shapes level within the machine's noise. An idle pool parks, so it burns no
 * CPU.
 */
final class WorkerPool implements AutoCloseable {

    /** How long an idle worker watches for the next loop before it parks. */
    static final long WATCH_NANOS = 500_000;

    /** Closes the crews of pools that were dropped without {@link #close()}. */
    private static final Cleaner DROPPED = Cleaner.create();

    private final int threads;
    /**
     * What the workers share with the callers. The workers hold it and not the pool, so that a
     * pool dropped without being closed can still be collected, and its workers stopped.
     */
    private final Crew crew;
    private final Cleaner.Cleanable stop;
    /** Set while the current thread runs iterations of a loop, so that loops it issues nest. */
    private final ThreadLocal<Boolean> inLoop = ThreadLocal.withInitial(() -> false);

    WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.crew = new Crew(threads - 1);
        this.stop = DROPPED.register(this, crew::close);
    }

    int threads() {
        return threads;
    }

    /**
     * How many threads a loop issued now would run on: the pool's size, or 1 from inside a
     * loop (where loops run inline). Kernels split their work by this.
     */
    int parallelism() {
        return crew.workers.length == 0 || nested() ? 1 : threads;
    }

    private boolean nested() {
        return inLoop.get() || Thread.currentThread() instanceof Worker w && w.crew == crew;
    }

    /** Runs {@code body.accept(i)} for every i in [0, count), in parallel, and waits. */
    void forEach(int count, IntConsumer body) {
        if (count <= 0) {
            return;
        }
        if (crew.workers.length == 0 || count == 1 || nested()
                || !crew.held.compareAndSet(false, true)) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        Loop loop = new Loop(++crew.loops, body, count);
        try {
            crew.post(loop);
            inLoop.set(true);
            try {
                loop.share();
            } finally {
                inLoop.set(false);
            }
            // every iteration is handed out; wait for those still running on a worker
            while (loop.running.get() > 0) {
                Thread.onSpinWait();
            }
        } finally {
            crew.posted = null;
            crew.held.set(false);
        }

        // the first failure, as thrown, so its message and stack name the kernel
        Throwable first = loop.failure.get();
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
    }

    /**
     * Splits [0, count) into contiguous chunks of at least {@code grain} iterations and runs
     * {@code body.run(from, to)} for each, in parallel.
     */
    void forChunks(long count, long grain, ChunkBody body) {
        if (count <= 0) {
            return;
        }
        long chunks = Math.max(1, Math.min((long) threads * 4, count / Math.max(1, grain)));
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
        stop.clean();
    }

    /** The workers, the loop they are to join, and who holds them. */
    private static final class Crew {
        final Worker[] workers;
        /** Held by the caller whose loop the workers run. */
        final AtomicBoolean held = new AtomicBoolean();
        /** The loop the workers are to join, or null. */
        volatile Loop posted;
        volatile boolean closed;
        /** Loops posted so far; written only by the caller that holds the crew. */
        long loops;

        Crew(int size) {
            workers = new Worker[size];
            for (int i = 0; i < size; i++) {
                workers[i] = new Worker("lumbar-cpu-" + i, this);
                workers[i].start();
            }
        }

        void post(Loop loop) {
            posted = loop;
            for (Worker worker : workers) {
                if (worker.parked) {
                    LockSupport.unpark(worker);
                }
            }
        }

        void close() {
            closed = true;
            for (Worker worker : workers) {
                LockSupport.unpark(worker);
            }
        }
    }

    /** One parallel loop: its iterations, the next one to hand out, and who is still busy. */
    private static final class Loop {
        /** Which loop of the crew this is: workers remember the number, not the loop. */
        final long number;
        final IntConsumer body;
        final int count;
        final AtomicInteger next = new AtomicInteger();
        /** Workers inside {@link #share}: counted before they take an iteration. */
        final AtomicInteger running = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Loop(long number, IntConsumer body, int count) {
            this.number = number;
            this.body = body;
            this.count = count;
        }

        /**
         * Runs iterations until none is left. A worker that comes late, after the caller has
         * taken the last one, finds none and touches nothing.
         */
        void share() {
            try {
                for (int i = next.getAndIncrement(); i < count && failure.get() == null;
                        i = next.getAndIncrement()) {
                    body.accept(i);
                }
            } catch (RuntimeException | Error e) {
                failure.compareAndSet(null, e);
                // what is left is not run: the caller throws
                next.set(count);
            }
        }
    }

    private static final class Worker extends Thread {
        final Crew crew;
        /** Set before the worker parks (and checks once more for a loop), cleared after. */
        volatile boolean parked;

        Worker(String name, Crew crew) {
            super(name);
            this.crew = crew;
            setDaemon(true);
        }

        @Override
        public void run() {
            // the number of the last loop joined, not the loop: a loop's body may hold the
            // pool, which must stay collectable while its workers wait
            long last = 0;
            while (true) {
                Loop loop = awaitLoopAfter(last);
                if (loop == null) {
                    return;
                }
                last = loop.number;
                loop.running.incrementAndGet();
                try {
                    loop.share();
                } finally {
                    loop.running.decrementAndGet();
                }
            }
        }

        /** The next loop after loop {@code last}, or null once the pool is closed. */
        private Loop awaitLoopAfter(long last) {
            long since = System.nanoTime();
            while (true) {
                if (crew.closed) {
                    return null;
                }
                Loop loop = crew.posted;
                if (loop != null && loop.number != last) {
                    return loop;
                }
                if (System.nanoTime() - since < WATCH_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                // the caller posts, then unparks every worker it sees parked; announcing
                // first and looking once more means a loop posted meanwhile is not missed
                parked = true;
                loop = crew.posted;
                if (!crew.closed && (loop == null || loop.number == last)) {
                    LockSupport.park(this);
                }
                parked = false;
                since = System.nanoTime();
            }
        }
    }
}
