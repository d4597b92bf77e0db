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
        ProcessUsage before = new ProcessUsage(1_000_000_000L, 500_000, 4, 1);
        // 0.5 s of CPU time over 0.25 s between the readings: two cores' worth; 3 forwards
        ProcessUsage after = new ProcessUsage(1_250_000_000L, 1_000_000, 10, 2);
        Map<String, Object> usage = after.since(before, 3);
        assertEquals(2.0, (Double) usage.get("cores_busy"), 1e-12);
        assertEquals(2.0, (Double) usage.get("voluntary_switches_per_forward"), 1e-12);
        assertEquals(1.0 / 3, (Double) usage.get("involuntary_switches_per_forward"), 1e-12);
        assertEquals(", 2.00 of 2 cores busy, 2 voluntary and 0 involuntary context switches"
                + " per forward", ProcessUsage.describe(usage, 2));
    }

    @Test
    void nothingWithoutAFirstReadingTimeOrForwards() {
        ProcessUsage after = new ProcessUsage(5, 100, 10, 2);
        assertTrue(after.since(null, 3).isEmpty());
        assertTrue(after.since(after, 3).isEmpty());
        assertTrue(after.since(new ProcessUsage(1, 0, 0, 0), 0).isEmpty());
        assertEquals("", ProcessUsage.describe(Map.of(), 2));
    }

    /**
     * The reading is the process's own CPU time (the JVM's count of it, read just before and
     * just after, brackets it), and a thread that ends between two readings still counts:
     * its switches are not taken off.
     */
    @Test
    @EnabledOnOs(OS.LINUX)
    void theWholeProcessThreadsThatEndedIncluded() throws InterruptedException {
        var os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        ProcessUsage before = ProcessUsage.now();
        assertNotNull(before, "getrusage on Linux");
        Thread sleeper = new Thread(() -> {
            for (int i = 0; i < 20; i++) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sleeper.start();
        sleeper.join();
        long lowNanos = os.getProcessCpuTime();
        ProcessUsage after = ProcessUsage.now();
        long highNanos = os.getProcessCpuTime();
        assertNotNull(after);
        assertTrue(after.cpuMicros() * 1000 >= lowNanos - 20_000_000
                && after.cpuMicros() * 1000 <= highNanos + 20_000_000,
                after.cpuMicros() + " µs against " + lowNanos + "-" + highNanos + " ns");
        // the sleeper parked 20 times and has ended
        assertTrue(after.voluntary() - before.voluntary() >= 20,
                before.voluntary() + " -> " + after.voluntary());
        Map<String, Object> usage = after.since(before, 1);
        assertTrue((Double) usage.get("cores_busy") >= 0);
        assertTrue((Double) usage.get("involuntary_switches_per_forward") >= 0);
    }
}
