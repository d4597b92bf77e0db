package dev.lumbar.engine.batch;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs one job per study on {@code workers} study threads, each under its own
 * {@link StudyDeadline}, and hands every outcome to the caller's {@link Commit} in study order
 * on the caller's thread. Whatever a job throws, including an {@link Error} such as
 * {@link OutOfMemoryError}, becomes a {@link Failed} outcome for that study alone.
 *
 * <p>A job past its limit normally stops itself at its next deadline check. One stuck where no
 * check reaches (a read that never returns) is abandoned after a grace period: it is reported as
 * timed out, its thread is interrupted, its eventual result discarded, and its place among the
 * {@code workers} given to the next study, so a stuck study never stalls the batch.
 *
 * @param <R> what a job returns for its study
 */
public final class BatchRunner<R> {

    private static final System.Logger LOG = System.getLogger(BatchRunner.class.getName());

    /** The work for one study; it runs with the study's deadline current on its thread. */
    @FunctionalInterface
    public interface Job<R> {
        R run(int index, StudyDeadline deadline) throws Exception;
    }

    /** What happened to one study. */
    public sealed interface Outcome<R> permits Graded, Failed {
        int index();

        /** Wall time from the job's start to its end or abandonment. */
        double seconds();
    }

    /** The job returned. */
    public record Graded<R>(int index, R result, double seconds) implements Outcome<R> {
    }

    /** The job threw, or ran past its limit. */
    public record Failed<R>(int index, StudyFailure failure, double seconds)
            implements Outcome<R> {
    }

    /** Receives outcomes in study order, on the thread that called {@link #run}. */
    @FunctionalInterface
    public interface Commit<R> {
        void accept(Outcome<R> outcome) throws IOException;
    }

    private final int workers;
    private final Duration limit;
    private final Duration grace;

    /**
     * @param workers studies run at once, at least 1
     * @param limit   time limit per study
     * @param grace   how long past its limit a job may take to stop itself before it is
     *                abandoned
     */
    public BatchRunner(int workers, Duration limit, Duration grace) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + workers);
        }
        this.workers = workers;
        this.limit = limit;
        this.grace = grace;
    }

    /** One submitted study. */
    private record Task<R>(int index, StudyDeadline deadline, Future<Outcome<R>> future,
            Runnable releaseSlot) {
    }

    /**
     * Runs {@code count} jobs and commits their outcomes in order; returns when every outcome is
     * committed. A commit that throws stops the batch: jobs not started are dropped, running
     * ones are interrupted, and the exception propagates.
     */
    public void run(int count, Job<R> job, Commit<R> commit) throws IOException {
        // a thread per study and a slot per worker: an abandoned study gives its slot back
        AtomicInteger threadNumber = new AtomicInteger();
        ExecutorService studies = Executors.newThreadPerTaskExecutor(work -> {
            Thread t = new Thread(work, "lumbar-study-" + threadNumber.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        Semaphore slots = new Semaphore(workers, true);
        // a window of submitted studies bounds what finished-but-uncommitted results hold
        int window = 2 * workers;
        Deque<Task<R>> pending = new ArrayDeque<>();
        int next = 0;
        try {
            while (next < count && pending.size() < window) {
                pending.add(submit(studies, slots, next++, job));
            }
            while (!pending.isEmpty()) {
                Task<R> task = pending.poll();
                commit.accept(await(task));
                if (next < count) {
                    pending.add(submit(studies, slots, next++, job));
                }
            }
        } finally {
            studies.shutdownNow();
            try {
                if (!studies.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.log(System.Logger.Level.WARNING, "a study thread is still stuck after"
                            + " the batch ended; it is left to finish in the background");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private Task<R> submit(ExecutorService studies, Semaphore slots, int index, Job<R> job) {
        StudyDeadline deadline = new StudyDeadline(limit);
        AtomicBoolean released = new AtomicBoolean();
        Runnable releaseSlot = () -> {
            if (released.compareAndSet(false, true)) {
                slots.release();
            }
        };
        Future<Outcome<R>> future = studies.submit(() -> {
            slots.acquire();
            deadline.begin();
            long start = System.nanoTime();
            try {
                R result = deadline.within(() -> job.run(index, deadline));
                return new Graded<>(index, result, (System.nanoTime() - start) / 1e9);
            } catch (Throwable t) {
                return new Failed<>(index, StudyFailure.of(t, deadline),
                        (System.nanoTime() - start) / 1e9);
            } finally {
                releaseSlot.run();
            }
        });
        return new Task<>(index, deadline, future, releaseSlot);
    }

    /** The task's outcome, waiting no longer than its limit plus the grace period. */
    private Outcome<R> await(Task<R> task) throws IOException {
        while (true) {
            try {
                if (!task.deadline().started()) {
                    // queued behind other studies: its clock has not started
                    return task.future().get(100, TimeUnit.MILLISECONDS);
                }
                long wait = task.deadline().remainingNanos() + grace.toNanos();
                if (wait <= 0 && !task.future().isDone()) {
                    // judged only when it has not returned: a study that finished while
                    // this thread was busy committing earlier ones, or was itself held up,
                    // is graded, not abandoned
                    return abandon(task);
                }
                if (wait <= 0) {
                    return task.future().get();
                }
                return task.future().get(wait, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // not done yet: look at its clock again
            } catch (ExecutionException | CancellationException e) {
                // the task catches everything itself; this is the executor failing
                throw new IllegalStateException("a study thread failed outside its study", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for a study", e);
            }
        }
    }

    private Outcome<R> abandon(Task<R> task) throws ExecutionException, InterruptedException {
        // LIMITATION: Java cannot stop a thread; an abandoned study that never reaches a check
        // keeps its thread, memory and open files until it returns or the process exits.
        task.deadline().abandon();
        if (!task.future().cancel(true)) {
            // it returned between the look and the cancel: its own outcome stands
            return task.future().get();
        }
        task.releaseSlot().run();
        LOG.log(System.Logger.Level.WARNING, "study {0} of the batch did not stop at its time"
                + " limit; abandoned, its thread interrupted", task.index() + 1);
        return new Failed<>(task.index(), new StudyFailure(StudyFailure.Kind.TIMEOUT,
                task.deadline().message()),
                (task.deadline().limit().plus(grace)).toNanos() / 1e9);
    }
}
