package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path dir;

    /** A file whose header is {@code json} (unpadded) followed by {@code dataBytes} bytes. */
    private Path raw(String json, int dataBytes) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bytes = ByteBuffer.allocate(8 + header.length + dataBytes)
                .order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(header.length).put(header);
        Path file = Files.createTempFile(dir, "case", ".safetensors");
        Files.write(file, bytes.array());
        return file;
    }

    private SafetensorsException rejects(Path file) {
        return assertThrows(SafetensorsException.class, () -> Safetensors.open(file).close());
    }

    private static void assertNames(SafetensorsException e, Path file, String tensor) {
        assertEquals(file, e.file());
        assertEquals(tensor, e.tensor());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        if (tensor != null) {
            assertTrue(e.getMessage().contains("'" + tensor + "'"), e.getMessage());
        }
    }

    @Test
    void writesAndMapsTensorsZeroCopyWithMetadata() throws IOException {
        Path file = dir.resolve("demo.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("encoder.stem.0.weight", Tensor.of(new float[] {1, -2, 3.5f, 4, 5, 6}, 2, 3));
        Tensor half = Tensor.allocate(DType.F16, 3);
        half.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 1,
                Float.floatToFloat16(0.5f));
        tensors.put("fc.bias", half);
        tensors.put("steps", Tensor.allocate(DType.I64, 1));
        tensors.put("empty", Tensor.allocate(DType.F32, 0, 4));
        Safetensors.write(file, tensors, Map.of("format", "pt"));

        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8)
                .order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes");

        try (Safetensors weights = Safetensors.open(file)) {
            assertEquals(List.of("encoder.stem.0.weight", "fc.bias", "steps", "empty"),
                    List.copyOf(weights.names()));
            assertEquals(Map.of("format", "pt"), weights.metadata());
            Tensor view = weights.view("encoder.stem.0.weight");
            assertFalse(view.ownsMemory());
            assertTrue(view.segment().isMapped(), "a view of the mapping, not a copy");
            assertArrayEquals(new long[] {2, 3}, view.shape());
            assertArrayEquals(new float[] {1, -2, 3.5f, 4, 5, 6}, view.toFloatArray());
            assertEquals(DType.F16, weights.view("fc.bias").dtype());
            try (Tensor widened = weights.f32("fc.bias")) {
                assertTrue(widened.ownsMemory());
                assertArrayEquals(new float[] {0, 0.5f, 0}, widened.toFloatArray());
            }
            assertArrayEquals(new long[] {0, 4}, weights.view("empty").shape());
            SafetensorsException notFloat = assertThrows(SafetensorsException.class,
                    () -> weights.f32("steps"));
            assertNames(notFloat, file, "steps");
            SafetensorsException missing = assertThrows(SafetensorsException.class,
                    () -> weights.view("nope"));
            assertNames(missing, file, "nope");
        }
    }

    @Test
    void viewsFailCleanlyOnceTheFileIsClosed() throws IOException {
        Path file = dir.resolve("closed.safetensors");
        Safetensors.write(file, Map.of("w", Tensor.of(new float[] {1, 2}, 2)), Map.of());
        Safetensors weights = Safetensors.open(file);
        Tensor view = weights.view("w");
        assertEquals(2f, view.getFloat(1));
        weights.close();
        weights.close();
        assertThrows(IllegalStateException.class, view::toFloatArray);
        assertThrows(IllegalStateException.class, () -> weights.view("w"));
        assertThrows(IllegalStateException.class, () -> weights.f32("w"));
    }

    @Test
    void rejectsADirectoryNamingIt() {
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> Safetensors.open(dir));
        assertEquals(dir, e.file());
    }

    @Test
    void widensEveryF16AndBf16BitPatternExactlyLikeTorch() throws Exception {
        Path file = Path.of(getClass().getResource("/fixtures/io/halfs.safetensors").toURI());
        try (Safetensors halfs = Safetensors.open(file)) {
            for (String kind : List.of("f16", "bf16")) {
                try (Tensor widened = halfs.f32(kind + "_bits")) {
                    float[] ours = widened.toFloatArray();
                    float[] torch = halfs.view(kind + "_as_f32").toFloatArray();
                    assertEquals(65536, ours.length);
                    assertArrayEquals(halfs.view(kind + "_bits").shape(), widened.shape());
                    for (int i = 0; i < ours.length; i++) {
                        if (Float.isNaN(torch[i])) {
                            assertTrue(Float.isNaN(ours[i]), kind + " pattern " + i);
                        } else {
                            assertEquals(Float.floatToRawIntBits(torch[i]),
                                    Float.floatToRawIntBits(ours[i]), kind + " pattern " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void rejectsFilesTooShortForTheLengthField() throws IOException {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 0, 0});
        assertNames(rejects(file), file, null);
    }

    @Test
    void rejectsHeaderLongerThanTheFile() throws IOException {
        Path file = raw("{}", 0);
        byte[] bytes = Files.readAllBytes(file);
        bytes[0] = 100;
        Files.write(file, bytes);
        SafetensorsException e = rejects(file);
        assertNames(e, file, null);
        assertTrue(e.getMessage().contains("past the end"), e.getMessage());
    }

    @Test
    void rejectsOversizedHeaderWithoutAllocatingIt() throws IOException {
        for (long claimed : new long[] {Safetensors.MAX_HEADER_BYTES + 1, -1L, 1L << 62}) {
            Path file = dir.resolve("huge.safetensors");
            ByteBuffer bytes = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            bytes.putLong(claimed);
            Files.write(file, bytes.array());
            SafetensorsException e = rejects(file);
            assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
        }
    }

    @Test
    void rejectsOverlappingOffsetsNamingTheTensor() throws IOException {
        Path file = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        SafetensorsException e = rejects(file);
        assertNames(e, file, "b");
        assertTrue(e.getMessage().contains("overlap tensor 'a'"), e.getMessage());
    }

    @Test
    void rejectsOffsetsOutsideTheDataArea() throws IOException {
        Path past = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertNames(rejects(past), past, "w");
        Path reversed = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],"
                + "\"data_offsets\":[8,0]}}", 8);
        assertNames(rejects(reversed), reversed, "w");
        Path negative = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
                + "\"data_offsets\":[-4,0]}}", 8);
        assertNames(rejects(negative), negative, "w");
        Path huge = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
                + "\"data_offsets\":[9223372036854775800,9223372036854775804]}}", 8);
        assertNames(rejects(huge), huge, "w");
    }

    @Test
    void rejectsGapsBetweenTensorsAndUnclaimedTrailingBytes() throws IOException {
        Path gap = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        SafetensorsException e = rejects(gap);
        assertNames(e, gap, "b");
        assertTrue(e.getMessage().contains("gap of 4 bytes"), e.getMessage());

        Path leading = raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4);
        assertNames(rejects(leading), leading, "a");

        Path trailing = raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                6);
        SafetensorsException t = rejects(trailing);
        assertNames(t, trailing, "a");
        assertTrue(t.getMessage().contains("4 bytes at the end"), t.getMessage());
    }

    @Test
    void rejectsUnknownDtypes() throws IOException {
        for (String dtype : List.of("\"F8_E4M3\"", "\"f32\"", "\"C64\"", "32", "null")) {
            Path file = raw("{\"x.weight\":{\"dtype\":" + dtype + ",\"shape\":[1],"
                    + "\"data_offsets\":[0,4]}}", 4);
            SafetensorsException e = rejects(file);
            assertNames(e, file, "x.weight");
            assertTrue(e.getMessage().contains("unsupported dtype"), e.getMessage());
        }
    }

    @Test
    void rejectsByteCountsThatDisagreeWithShapeAndDtype() throws IOException {
        Path file = raw("{\"w\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", 8);
        SafetensorsException e = rejects(file);
        assertNames(e, file, "w");
        assertTrue(e.getMessage().contains("needs 12"), e.getMessage());

        Path overflow = raw("{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}", 8);
        assertNames(rejects(overflow), overflow, "w");
    }

    @Test
    void rejectsMalformedHeaders() throws IOException {
        List<String> headers = List.of(
                "{\"w\":",
                "[]",
                "\"text\"",
                "{\"w\":[]}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}",
                "{\"__metadata__\":{\"k\":1}}",
                "{\"__metadata__\":[]}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                // a name that would print a forged line of output
                "{\"w\\nlumbar: all good\":{\"dtype\":\"F32\",\"shape\":[1],"
                        + "\"data_offsets\":[0,4]}}");
        for (String header : headers) {
            Path file = raw(header, 4);
            SafetensorsException e = rejects(file);
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        }
        Path notUtf8 = dir.resolve("latin1.safetensors");
        Files.write(notUtf8, new byte[] {4, 0, 0, 0, 0, 0, 0, 0, '"', (byte) 0xe9, '"', ' '});
        assertNull(rejects(notUtf8).tensor());
    }

    @Test
    void survivesRandomCorruptionWithTypedErrorsOnly() throws IOException {
        Path good = dir.resolve("good.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.of(new float[] {1, 2, 3}, 3));
        tensors.put("b", Tensor.allocate(DType.BF16, 2, 2));
        Safetensors.write(good, tensors, Map.of("k", "v"));
        byte[] original = Files.readAllBytes(good);
        SplittableRandom random = new SplittableRandom(7);
        Path bad = dir.resolve("bad.safetensors");
        int rejected = 0;
        for (int round = 0; round < 1000; round++) {
            byte[] bytes = original.clone();
            int flips = 1 + random.nextInt(3);
            for (int f = 0; f < flips; f++) {
                bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
            }
            int length = random.nextInt(8) == 0 ? random.nextInt(bytes.length) : bytes.length;
            Files.write(bad, java.util.Arrays.copyOf(bytes, length));
            try (Safetensors opened = Safetensors.open(bad)) {
                for (String name : opened.names()) {
                    opened.view(name).close();
                }
            } catch (SafetensorsException e) {
                assertTrue(e.getMessage().startsWith(bad.toString()), e.getMessage());
                rejected++;
            }
        }
        assertTrue(rejected > 250, "most corruptions are caught: " + rejected);
    }
}
