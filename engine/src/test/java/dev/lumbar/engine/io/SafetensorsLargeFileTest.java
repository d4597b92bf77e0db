package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Maps a file far larger than the heap of the JVM that reads it. */
class SafetensorsLargeFileTest {

    private static final long BIG_ELEMENTS = 50L * 1024 * 1024; // 200 MiB of F32
    private static final int CHILD_HEAP_MB = 64;

    @Test
    void readsTensorsFromAFileLargerThanTheHeap(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("large.safetensors");
        writeSparseFile(file);

        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("-Xmx" + CHILD_HEAP_MB + "m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(LargeSafetensorsProbe.class.getName());
        command.add(file.toString());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(),
                StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, child.exitValue(), output);

        Map<String, String> found = new LinkedHashMap<>();
        output.lines().filter(l -> l.contains("=")).forEach(l -> {
            int eq = l.indexOf('=');
            found.put(l.substring(0, eq), l.substring(eq + 1));
        });
        assertTrue(Long.parseLong(found.get("maxHeap")) < 100L * 1024 * 1024, output);
        assertEquals(String.valueOf(BIG_ELEMENTS), found.get("big.numel"), output);
        assertEquals("1.5", found.get("big.first"), output);
        assertEquals("-2.25", found.get("big.last"), output);
        assertEquals(String.valueOf(1.5 - 2.25), found.get("big.sum"), output);
        assertEquals("[1.0, 2.0, 3.0, 4.0]", found.get("head"), output);
        assertEquals("[0.5, -8.0]", found.get("tail"), output);
    }

    /**
     * Header, a small F32 tensor, a ~200 MiB F32 tensor that is a hole on disk except its first
     * and last element, and a small F16 tensor at the very end.
     */
    private static void writeSparseFile(Path file) throws IOException {
        long headBytes = 16;
        long bigBytes = BIG_ELEMENTS * 4;
        long tailBytes = 4;
        String json = "{\"head\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"big\":{\"dtype\":\"F32\",\"shape\":[" + BIG_ELEMENTS + "],"
                + "\"data_offsets\":[16," + (headBytes + bigBytes) + "]},"
                + "\"tail\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":["
                + (headBytes + bigBytes) + "," + (headBytes + bigBytes + tailBytes) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + header.length;

        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length + 20)
                    .order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header);
            prefix.putFloat(1).putFloat(2).putFloat(3).putFloat(4);
            prefix.putFloat(1.5f);
            out.write(prefix.array());

            ByteBuffer last = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            last.putFloat(-2.25f);
            last.putShort(Float.floatToFloat16(0.5f)).putShort(Float.floatToFloat16(-8f));
            out.seek(dataStart + headBytes + bigBytes - 4);
            out.write(last.array());
            assertEquals(dataStart + headBytes + bigBytes + tailBytes, out.length());
        }
    }
}
