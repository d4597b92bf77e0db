package dev.lumbar.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the process used while some forwards ran, from {@code getrusage(RUSAGE_SELF)}: the CPU
 * time of all its threads, those that have ended included, and how often they left a core,
 * by choice (a worker parking until the next loop, a lock) or not (another thread took the
 * core: the JVM's compiler and collector threads while the JIT still compiles, or the
 * machine's other work). Cores busy well under the thread count means threads waited on
 * each other without spinning; a pool that spins while it waits counts as busy.
 *
 * @param nanos {@link System#nanoTime()} taken right after the reading: the wall time
 *     between two readings comes from these, so that it spans the interval whose CPU time is
 *     counted
 * @param cpuMicros user and system time of the whole process, in microseconds
 * @param voluntary voluntary context switches of the whole process
 * @param involuntary involuntary context switches of the whole process
 */
record ProcessUsage(long nanos, long cpuMicros, long voluntary, long involuntary) {

    /** {@code RUSAGE_SELF}: the calling process, all its threads. */
    private static final int RUSAGE_SELF = 0;
    // LIMITATION: struct rusage as Linux lays it out on 64-bit machines (x86-64, AArch64): two
    // struct timeval of two longs, then fourteen longs, ru_nvcsw and ru_nivcsw the last two.
    // Elsewhere there is no reading, and the figures are left out.
    private static final long RUSAGE_BYTES = 144;
    private static final long UTIME = 0;
    private static final long STIME = 16;
    private static final long NVCSW = 128;
    private static final long NIVCSW = 136;

    private static final MethodHandle GETRUSAGE = getrusage();

    private static MethodHandle getrusage() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("aarch64"))) {
            return null;
        }
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find("getrusage")
                .map(address -> linker.downcallHandle(address, FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS)))
                .orElse(null);
    }

    /** The process's use so far, or null where it cannot be read. */
    static ProcessUsage now() {
        if (GETRUSAGE == null) {
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment usage = arena.allocate(RUSAGE_BYTES, 8);
            int status = (int) GETRUSAGE.invokeExact(RUSAGE_SELF, usage);
            long nanos = System.nanoTime();
            if (status != 0) {
                return null;
            }
            return new ProcessUsage(nanos, micros(usage, UTIME) + micros(usage, STIME),
                    usage.get(ValueLayout.JAVA_LONG, NVCSW),
                    usage.get(ValueLayout.JAVA_LONG, NIVCSW));
        } catch (Throwable e) {
            return null;
        }
    }

    /** A struct timeval at {@code offset}, in microseconds. */
    private static long micros(MemorySegment usage, long offset) {
        return usage.get(ValueLayout.JAVA_LONG, offset) * 1_000_000
                + usage.get(ValueLayout.JAVA_LONG, offset + 8);
    }

    /**
     * Cores busy (CPU seconds over the wall seconds between the two readings) and context
     * switches per forward between {@code before} and this, over {@code forwards} forwards;
     * empty where {@code before} is null or no time passed.
     */
    Map<String, Object> since(ProcessUsage before, int forwards) {
        Map<String, Object> usage = new LinkedHashMap<>();
        double wallSeconds = before == null ? 0 : (nanos - before.nanos) / 1e9;
        if (wallSeconds <= 0 || forwards <= 0) {
            return usage;
        }
        usage.put("cores_busy", (cpuMicros - before.cpuMicros) / 1e6 / wallSeconds);
        usage.put("voluntary_switches_per_forward",
                (double) (voluntary - before.voluntary) / forwards);
        usage.put("involuntary_switches_per_forward",
                (double) (involuntary - before.involuntary) / forwards);
        return usage;
    }

    /** {@link #since}'s figures in words, or "" where there are none. */
    static String describe(Map<String, Object> usage, long threads) {
        if (!usage.containsKey("cores_busy")) {
            return "";
        }
        return String.format(Locale.ROOT, ", %.2f of %d cores busy, %.0f voluntary and"
                + " %.0f involuntary context switches per forward", usage.get("cores_busy"),
                threads, usage.get("voluntary_switches_per_forward"),
                usage.get("involuntary_switches_per_forward"));
    }
}
