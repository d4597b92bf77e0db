package dev.lumbar.engine.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.LimitExceededException;
import dev.lumbar.engine.Limits;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model whose F32 weights would not fit the memory share is refused when it is opened, before
 * any tensor is copied. The weights file is sparse: it claims ~1% of the available memory in
 * F16 without taking disk space.
 */
class WeightSetMemoryTest {

    @TempDir
    Path dir;

    @AfterEach
    void restoreDefaults() {
        System.clearProperty("lumbar.limit.memoryPercent");
        Limits.reload();
    }

    @Test
    void weightsOverTheMemoryShareAreRefusedAtOpen() throws Exception {
        long available = Limits.availableMemoryBytes().orElseThrow();
        long elements = Math.max(1 << 20, available / 100 / 2);
        Path weights = sparseF16(dir.resolve("sparse.safetensors"), elements);
        Map<String, long[]> expected = Map.of("w", new long[] {elements});

        // as F32 it needs ~2% of what is available: within the default share
        WeightSet.open(weights, "model 'sparse'", expected, List.of()).close();

        System.setProperty("lumbar.limit.memoryPercent", "1");
        Limits.reload();
        LimitExceededException e = assertThrows(LimitExceededException.class,
                () -> WeightSet.open(weights, "model 'sparse'", expected, List.of()));
        assertTrue(e.getMessage().contains("model 'sparse'"), e.getMessage());
        assertTrue(e.getMessage().contains("1% of"), e.getMessage());
    }

    /** A safetensors file of one F16 tensor of {@code elements} zeros, written sparse. */
    private static Path sparseF16(Path file, long elements) throws Exception {
        String json = "{\"w\":{\"dtype\":\"F16\",\"shape\":[" + elements
                + "],\"data_offsets\":[0," + 2 * elements + "]}}";
        StringBuilder header = new StringBuilder(json);
        while ((header.length() + 8) % 8 != 0) {
            header.append(' ');
        }
        byte[] headerBytes = header.toString().getBytes(StandardCharsets.US_ASCII);
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(headerBytes.length).array());
            out.write(headerBytes);
            out.setLength(8L + headerBytes.length + 2 * elements);
        }
        return file;
    }
}
