package dev.lumbar.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What the process used while some forwards ran, from Linux's {@code /proc}: the CPU time of
 * all its threads, and how often its threads left a core, by choice (a worker waiting for the
 * others, a lock) or not (the machine's other work took the core). Cores busy well under the
 * thread count means threads waited on each other; many involuntary switches mean the cores
 * were shared with other processes.
 *
 * @param cpuTicks user and system time of the whole process, in clock ticks
 * @param voluntary voluntary context switches of its live threads
 * @param involuntary involuntary context switches of its live threads
 */
record ProcessUsage(long cpuTicks, long voluntary, long involuntary) {

    // LIMITATION: /proc/self/stat counts CPU time in USER_HZ ticks, which Linux fixes at 100
    // a second for user space on the usual architectures; it is taken as 100 rather than read
    // through sysconf. Context switches are those of the threads alive at the time.
    private static final double TICKS_PER_SECOND = 100;

    /** The process's use so far, or null where there is no {@code /proc} (not Linux). */
    static ProcessUsage now() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // the fields after the command name, which is in parentheses and may hold spaces:
            // utime and stime are fields 14 and 15 of the whole line
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            long voluntary = 0;
            long involuntary = 0;
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : tasks.toList()) {
                    long[] switches = switches(task.resolve("status"));
                    voluntary += switches[0];
                    involuntary += switches[1];
                }
            }
            return new ProcessUsage(ticks, voluntary, involuntary);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** A thread's voluntary and involuntary switches; zero for one that has just ended. */
    private static long[] switches(Path status) {
        long[] counts = new long[2];
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("voluntary_ctxt_switches:")) {
                    counts[0] = Long.parseLong(line.replaceAll("[^0-9]", ""));
                } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                    counts[1] = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            // the thread ended between the listing and the read: it switches no more
        }
        return counts;
    }

    /**
     * Cores busy (CPU seconds over wall seconds) and context switches per forward between
     * {@code before} and this, over {@code forwards} forwards that took {@code wallSeconds};
     * empty where either is null.
     */
    Map<String, Object> since(ProcessUsage before, double wallSeconds, int forwards) {
        Map<String, Object> usage = new LinkedHashMap<>();
        if (before == null || wallSeconds <= 0 || forwards <= 0) {
            return usage;
        }
        usage.put("cores_busy", (cpuTicks - before.cpuTicks) / TICKS_PER_SECOND / wallSeconds);
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
        return String.format(java.util.Locale.ROOT, ", %.2f of %d cores busy, %.0f voluntary and"
                + " %.0f involuntary context switches per forward", usage.get("cores_busy"),
                threads, usage.get("voluntary_switches_per_forward"),
                usage.get("involuntary_switches_per_forward"));
    }
}
