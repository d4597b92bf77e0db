package dev.lumbar.engine.batch;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The time limit of one study. The clock starts with {@link #begin()} on the thread that runs
 * the study; {@link #check()} throws {@link StudyTimeoutException} once the limit has passed or
 * the study was {@linkplain #abandon() abandoned}. Work that cannot see the deadline finds it
 * through {@link #checkCurrent()}, which reads the running thread's deadline.
 */
public final class StudyDeadline {

    private static final ThreadLocal<StudyDeadline> CURRENT = new ThreadLocal<>();

    private final Duration limit;
    private volatile long startNanos;
    private volatile boolean started;
    private volatile boolean abandoned;

    public StudyDeadline(Duration limit) {
        if (limit.isNegative() || limit.isZero()) {
            throw new IllegalArgumentException("a study time limit must be positive, got "
                    + limit);
        }
        this.limit = limit;
    }

    public Duration limit() {
        return limit;
    }

    /** Starts the clock. */
    public void begin() {
        startNanos = System.nanoTime();
        started = true;
    }

    public boolean started() {
        return started;
    }

    /**
     * Nanoseconds left before the limit; negative once it has passed, the full limit if not
     * begun.
     */
    public long remainingNanos() {
        return started ? startNanos + limit.toNanos() - System.nanoTime() : limit.toNanos();
    }

    /** Marks the study abandoned: its next {@link #check()} throws. */
    public void abandon() {
        abandoned = true;
    }

    /**
     * Throws {@link StudyTimeoutException} when the limit has passed or the study was
     * abandoned.
     */
    public void check() {
        if (abandoned || (started && remainingNanos() < 0)) {
            throw new StudyTimeoutException(message());
        }
    }

    /** What a user reads when the limit is exceeded. */
    public String message() {
        return String.format(Locale.ROOT, "exceeded the time limit of %s s per study"
                + " (--study-timeout) and was abandoned", seconds(limit));
    }

    /** Checks the deadline of the study running on this thread, if any. */
    public static void checkCurrent() {
        StudyDeadline current = CURRENT.get();
        if (current != null) {
            current.check();
        }
    }

    /** Runs {@code work} with this deadline as the thread's current one. */
    public <T> T within(Callable<T> work) throws Exception {
        StudyDeadline outer = CURRENT.get();
        CURRENT.set(this);
        try {
            return work.call();
        } finally {
            if (outer == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(outer);
            }
        }
    }

    static String seconds(Duration d) {
        double s = d.toNanos() / 1e9;
        if (s == Math.rint(s)) {
            return Long.toString((long) s);
        }
        // three decimals where they say something, significant digits below a millisecond
        return s >= 0.001 ? String.format(Locale.ROOT, "%.3f", s).replaceAll("0+$", "")
                : String.format(Locale.ROOT, "%.3g", s);
    }
}
