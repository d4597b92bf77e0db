package dev.lumbar.engine;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * Every size the engine refuses to go beyond, in one place, so that no input can make it
 * allocate, recurse or loop without bound. Each reader compares a size with its limit before it
 * allocates anything of that size, and its error names the file, the size, the limit and the
 * system property that raises it ({@code -Dlumbar.limit.<name>=<value>}, e.g. through
 * {@code LUMBAR_JAVA_OPTS}).
 *
 * <p>The defaults fit clinical lumbar MRI with a wide margin: a sagittal series has 15-25 slices
 * of at most 1024 x 1024 pixels; a study has 3-10 series.
 *
 * @param dicomFileBytes the largest DICOM file read
 * @param imagePixels the most pixels (rows x columns) in one frame
 * @param framesPerFile the most frames in one multi-frame file
 * @param slicesPerSeries the most image files (slices) in one series
 * @param seriesPerStudy the most series in one study
 * @param filesPerScan the most files under one input folder
 * @param nestingDepth the deepest nesting of DICOM sequences
 * @param jsonNestingDepth the deepest nesting of JSON arrays and objects
 * @param textFileBytes the largest JSON or CSV file read (cards, manifests, tables)
 * @param safetensorsHeaderBytes the largest safetensors JSON header
 * @param npyHeaderBytes the largest .npy header
 * @param memoryPercent the share of available memory a model's F32 weights, or one stack's
 *                      volume, may take
 */
public record Limits(long dicomFileBytes, long imagePixels, int framesPerFile,
        int slicesPerSeries, int seriesPerStudy, int filesPerScan, int nestingDepth,
        int jsonNestingDepth, long textFileBytes, long safetensorsHeaderBytes,
        int npyHeaderBytes, int memoryPercent) {

    private static final System.Logger LOG = System.getLogger(Limits.class.getName());
    private static final String PREFIX = "lumbar.limit.";

    /** The defaults, whatever the system properties say. */
    public static final Limits DEFAULTS = new Limits(
            1L << 30,           // 1 GiB: an enhanced multi-frame MR of 1000 frames of 512 x 512
            8192L * 8192,       // 64 Mpixel per frame: 64x a 1024 x 1024 MR slice
            4096,
            2048,
            256,
            1_000_000,
            32,
            256,
            64L << 20,          // 64 MiB: a card is ~1 KiB, a Kaggle train.csv ~2 MiB
            100L << 20,         // as the safetensors format itself bounds it
            1 << 20,
            80);

    private static volatile Limits current;

    public Limits {
        long[] all = {dicomFileBytes, imagePixels, framesPerFile, slicesPerSeries,
            seriesPerStudy, filesPerScan, nestingDepth, jsonNestingDepth, textFileBytes,
            safetensorsHeaderBytes, npyHeaderBytes, memoryPercent};
        for (long value : all) {
            if (value < 1) {
                throw new IllegalArgumentException("every limit must be positive: " + value);
            }
        }
        if (memoryPercent > 100) {
            throw new IllegalArgumentException("memoryPercent is over 100: " + memoryPercent);
        }
    }

    /** The limits in force: the defaults, each overridden by its {@code lumbar.limit.*}. */
    public static Limits current() {
        Limits limits = current;
        if (limits == null) {
            limits = fromProperties();
            current = limits;
        }
        return limits;
    }

    /** Re-reads the system properties; for tests and for a host that changes them at run time. */
    public static Limits reload() {
        current = fromProperties();
        return current;
    }

    /**
     * The names a {@code lumbar.limit.*} property may have: this record's components, which
     * {@link #fromProperties} reads one by one under the same names.
     */
    private static final java.util.Set<String> NAMES =
            java.util.Arrays.stream(Limits.class.getRecordComponents())
                    .map(java.lang.reflect.RecordComponent::getName)
                    .collect(java.util.stream.Collectors.toUnmodifiableSet());

    /**
     * The {@code lumbar.limit.*} properties set that name no limit (a misspelt one would
     * otherwise leave its limit at the default without a word), sorted.
     */
    static java.util.List<String> unknownNames() {
        return System.getProperties().stringPropertyNames().stream()
                .filter(key -> key.startsWith(PREFIX))
                .map(key -> key.substring(PREFIX.length()))
                .filter(name -> !NAMES.contains(name))
                .sorted()
                .toList();
    }

    private static Limits fromProperties() {
        // LIMITATION: the readers recurse once per nesting level, so a depth limit raised into
        // the thousands can overflow the thread stack; such input then fails with a
        // StackOverflowError instead of a message.
        for (String name : unknownNames()) {
            LOG.log(System.Logger.Level.WARNING, "ignoring -D{0}{1}: no limit of that name"
                    + " (the limits: {2})", PREFIX, name, String.join(", ",
                            new java.util.TreeSet<>(NAMES)));
        }
        Limits d = DEFAULTS;
        return new Limits(
                property("dicomFileBytes", d.dicomFileBytes),
                property("imagePixels", d.imagePixels),
                intProperty("framesPerFile", d.framesPerFile),
                intProperty("slicesPerSeries", d.slicesPerSeries),
                intProperty("seriesPerStudy", d.seriesPerStudy),
                intProperty("filesPerScan", d.filesPerScan),
                intProperty("nestingDepth", d.nestingDepth),
                intProperty("jsonNestingDepth", d.jsonNestingDepth),
                property("textFileBytes", d.textFileBytes),
                property("safetensorsHeaderBytes", d.safetensorsHeaderBytes),
                intProperty("npyHeaderBytes", d.npyHeaderBytes),
                (int) Math.min(100, property("memoryPercent", d.memoryPercent)));
    }

    private static int intProperty(String name, int dflt) {
        long value = property(name, dflt);
        return value <= Integer.MAX_VALUE ? (int) value : Integer.MAX_VALUE;
    }

    private static long property(String name, long dflt) {
        String text = System.getProperty(PREFIX + name);
        if (text == null || text.isBlank()) {
            return dflt;
        }
        try {
            long value = Long.parseLong(text.strip());
            if (value >= 1 && value <= Integer.MAX_VALUE * 4L * 1024) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below, like an out-of-range value
        }
        LOG.log(System.Logger.Level.WARNING, "ignoring -D{0}{1}={2}: not a positive whole"
                + " number; using {3}", PREFIX, name, text, dflt);
        return dflt;
    }

    /**
     * The message for a size over its limit: "{what} is {actual}, over the limit of {limit}
     * (raise it with -Dlumbar.limit.{name}=...)". The caller prefixes the file.
     */
    public static String exceeded(String what, long actual, long limit, String name) {
        return String.format(Locale.ROOT, "%s is %d, over the limit of %d (raise it with -D%s%s"
                + "=...)", what, actual, limit, PREFIX, name);
    }

    /**
     * Refuses a model whose weights, as F32, would take more than {@link #memoryPercent} of the
     * memory available now; {@code model} names it in the error. Does nothing when the available
     * memory cannot be told.
     */
    public void requireMemoryFor(String model, long bytes) throws LimitExceededException {
        requireMemory(model + ": its weights need", " as F32", bytes);
    }

    /**
     * Refuses an image volume that would take more than {@link #memoryPercent} of the memory
     * available now, before it is reserved: the kernel, not the JVM, would otherwise stop the
     * process when it is touched (volumes live outside the Java heap). {@code stack} names it.
     */
    public void requireMemoryForVolume(String stack, long bytes) throws LimitExceededException {
        requireMemory(stack + ": its volume needs", "", bytes);
    }

    private void requireMemory(String needs, String as, long bytes)
            throws LimitExceededException {
        OptionalLong available = availableMemoryBytes();
        if (available.isEmpty()) {
            // LIMITATION: where neither /proc nor the JVM reports free memory, a model or image
            // too large for the machine fails later with an allocation error instead.
            return;
        }
        long allowed = available.getAsLong() / 100 * memoryPercent;
        if (bytes > allowed) {
            throw new LimitExceededException(needs + " " + mib(bytes) + " MiB" + as
                    + " but only " + mib(allowed) + " MiB may be used (" + memoryPercent
                    + "% of the " + mib(available.getAsLong()) + " MiB available; free memory"
                    + " or raise -D" + PREFIX + "memoryPercent=...)");
        }
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    /**
     * Memory this process can still get: the least of the kernel's MemAvailable, the cgroup's
     * unused allowance (a container's limit), and what the JVM reports as free.
     */
    public static OptionalLong availableMemoryBytes() {
        long best = Long.MAX_VALUE;
        best = Math.min(best, memAvailable().orElse(Long.MAX_VALUE));
        best = Math.min(best, cgroupHeadroom().orElse(Long.MAX_VALUE));
        if (best == Long.MAX_VALUE && ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            best = os.getFreeMemorySize();
        }
        return best == Long.MAX_VALUE || best <= 0 ? OptionalLong.empty() : OptionalLong.of(best);
    }

    private static OptionalLong memAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] parts = line.substring(13).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or a kernel without MemAvailable: other sources decide
        }
        return OptionalLong.empty();
    }

    private static OptionalLong cgroupHeadroom() {
        List<Path[]> candidates = List.of(
                new Path[] {Path.of("/sys/fs/cgroup/memory.max"),
                    Path.of("/sys/fs/cgroup/memory.current")},
                new Path[] {Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                    Path.of("/sys/fs/cgroup/memory/memory.usage_in_bytes")});
        for (Path[] pair : candidates) {
            try {
                String max = Files.readString(pair[0]).strip();
                if (max.equals("max")) {
                    continue;
                }
                long limit = Long.parseLong(max);
                long used = Long.parseLong(Files.readString(pair[1]).strip());
                if (limit < (1L << 60)) {
                    return OptionalLong.of(Math.max(0, limit - used));
                }
            } catch (IOException | RuntimeException e) {
                // no such cgroup version here
            }
        }
        return OptionalLong.empty();
    }
}
