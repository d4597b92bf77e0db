package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class ProcessUsageTest {

    @Test
    void coresBusyAndSwitchesPerForwardFromTwoReadings() {
        ProcessUsage before = new ProcessUsage(50, 4, 1);
        ProcessUsage after = new ProcessUsage(100, 10, 2);
        // 50 ticks of 10 ms over 0.25 s of wall time: two cores' worth; 3 forwards
        Map<String, Object> usage = after.since(before, 0.25, 3);
        assertEquals(2.0, (Double) usage.get("cores_busy"), 1e-12);
        assertEquals(2.0, (Double) usage.get("voluntary_switches_per_forward"), 1e-12);
        assertEquals(1.0 / 3, (Double) usage.get("involuntary_switches_per_forward"), 1e-12);
        assertEquals(", 2.00 of 2 cores busy, 2 voluntary and 0 involuntary context switches"
                + " per forward", ProcessUsage.describe(usage, 2));
    }

    @Test
    void nothingWithoutAFirstReadingOrForwards() {
        ProcessUsage after = new ProcessUsage(100, 10, 2);
        assertTrue(after.since(null, 1.0, 3).isEmpty());
        assertTrue(after.since(after, 0.0, 3).isEmpty());
        assertTrue(after.since(after, 1.0, 0).isEmpty());
        assertEquals("", ProcessUsage.describe(Map.of(), 2));
    }

    /**
     * The fields read from /proc are the process's CPU time: the JVM's own count of it, read
     * just before and just after, brackets it (to within a few 10 ms ticks).
     */
    @Test
    @EnabledOnOs(OS.LINUX)
    void cpuTimeIsTheProcesssOwn() {
        var os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        double sink = 0;
        for (int i = 0; i < 20_000_000; i++) {
            sink += Math.sqrt(sink + i);
        }
        assertTrue(sink > 0);
        long lowNanos = os.getProcessCpuTime();
        ProcessUsage usage = ProcessUsage.now();
        long highNanos = os.getProcessCpuTime();
        assertNotNull(usage);
        double seconds = usage.cpuTicks() / 100.0;
        assertTrue(seconds > lowNanos / 1e9 - 0.05 && seconds < highNanos / 1e9 + 0.05,
                usage.cpuTicks() + " ticks against " + lowNanos + "-" + highNanos + " ns");
        assertTrue(usage.voluntary() > 0 && usage.involuntary() >= 0);
    }
}
