package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    @Test
    void parsesEveryValueKindIntoTheDocumentedJavaTypes() {
        Object parsed = Json.parse(" {\"b\": [1, -2.5, 1e3, true, false, null],"
                + " \"a\": \"x\\n\\u00e9\\ud83d\\ude00\", \"big\": 123456789012345678901234,"
                + " \"max\": 9223372036854775807, \"nested\": {}} ");
        Map<?, ?> map = assertInstanceOf(LinkedHashMap.class, parsed);
        assertEquals(List.of("b", "a", "big", "max", "nested"), new ArrayList<>(map.keySet()));
        List<?> list = assertInstanceOf(ArrayList.class, map.get("b"));
        assertEquals(1L, list.get(0));
        assertEquals(-2.5, list.get(1));
        assertEquals(1000.0, list.get(2));
        assertEquals(Boolean.TRUE, list.get(3));
        assertEquals(Boolean.FALSE, list.get(4));
        assertNull(list.get(5));
        assertEquals("x\n\u00e9\ud83d\ude00", map.get("a"));
        assertEquals(1.2345678901234568E23, map.get("big"));
        assertEquals(Long.MAX_VALUE, map.get("max"));
        assertEquals(Map.of(), map.get("nested"));
    }

    @Test
    void writesPrettyDeterministicText() {
        Map<String, Object> card = new LinkedHashMap<>();
        card.put("name", "demo \"q\" \\ \t\u0001");
        card.put("dims", List.of(16, 32L, 1.5));
        card.put("empty", List.of());
        Map<String, Object> unordered = new HashMap<>();
        unordered.put("z", 1);
        unordered.put("a", List.of("s"));
        card.put("sub", unordered);
        String expected = """
                {
                  "name": "demo \\"q\\" \\\\ \\t\\u0001",
                  "dims": [16, 32, 1.5],
                  "empty": [],
                  "sub": {
                    "a": [
                      "s"
                    ],
                    "z": 1
                  }
                }""";
        assertEquals(expected, Json.write(card));
    }

    @Test
    void roundTripsRandomDoublesAndFloatsExactly() {
        SplittableRandom random = new SplittableRandom(20241);
        List<Object> doubles = new ArrayList<>();
        List<Object> floats = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            double d = Double.longBitsToDouble(random.nextLong());
            if (Double.isFinite(d)) {
                doubles.add(d);
            }
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isFinite(f)) {
                floats.add(f);
            }
        }
        doubles.addAll(List.of(0.0, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, 0.1, 1e-300));
        floats.addAll(List.of(Float.MIN_VALUE, Float.MAX_VALUE, 0.1f, -0.0f));

        List<?> doublesBack = (List<?>) Json.parse(Json.write(doubles));
        for (int i = 0; i < doubles.size(); i++) {
            assertEquals(Double.doubleToRawLongBits((Double) doubles.get(i)),
                    Double.doubleToRawLongBits((Double) doublesBack.get(i)), "index " + i);
        }
        List<?> floatsBack = (List<?>) Json.parse(Json.write(floats));
        for (int i = 0; i < floats.size(); i++) {
            float back = ((Number) floatsBack.get(i)).floatValue();
            assertEquals(Float.floatToRawIntBits((Float) floats.get(i)),
                    Float.floatToRawIntBits(back), "index " + i);
        }
    }

    @Test
    void roundTripsStringsWithEveryControlCharacterAndAstralCharacters() {
        StringBuilder s = new StringBuilder();
        for (char c = 0; c < 0x80; c++) {
            s.append(c);
        }
        s.append("\u2028\uffff\ud800\udc00 \u00ff");
        assertEquals(s.toString(), Json.parse(Json.write(s.toString())));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "{", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "'x'", "01", "-",
        "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1e400",
        "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\\u\u0661\u0662\u0663\u0664\"",
        "\"a\tb\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "[1] 2", "{} x",
        "// c\n1", "/* c */ 1", "{\"a\":1,\"a\":2}", "\u00a01", "[\"\ud800\"]", "\u0000"
    })
    void rejectsMalformedText(String text) {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(text));
        assertTrue(e.line() >= 1 && e.column() >= 1, e.getMessage());
    }

    @Test
    void survivesRandomCorruptionWithJsonExceptionsOnly() {
        String valid = Json.write(Json.parse("{\"a\": [1, -2.5e-3, true, null, \"s\\u00e9\\n\"],"
                + " \"b\": {\"c\": \"\ud83d\ude00\", \"d\": []}}"));
        String alphabet = "{}[]\":,.-+eE0123456789tfnul\\/ \n\tx\u00e9\ud800\udc00";
        SplittableRandom random = new SplittableRandom(99);
        int rejected = 0;
        for (int round = 0; round < 5000; round++) {
            StringBuilder text = new StringBuilder(valid);
            for (int edits = 1 + random.nextInt(3); edits > 0; edits--) {
                int at = random.nextInt(text.length());
                char c = alphabet.charAt(random.nextInt(alphabet.length()));
                switch (random.nextInt(3)) {
                    case 0 -> text.setCharAt(at, c);
                    case 1 -> text.insert(at, c);
                    default -> text.deleteCharAt(at);
                }
            }
            try {
                Json.parse(text.toString());
            } catch (JsonException e) {
                rejected++;
            }
        }
        assertTrue(rejected > 2500, "most corruptions are caught: " + rejected);
    }

    @Test
    void reportsLineAndColumnOfTheProblem() {
        JsonException e = assertThrows(JsonException.class,
                () -> Json.parse("{\n  \"a\": 1,\n  \"b\": tru\n}"));
        assertEquals(3, e.line());
        assertEquals(8, e.column());
        assertTrue(e.getMessage().contains("line 3, column 8"), e.getMessage());

        JsonException dup = assertThrows(JsonException.class,
                () -> Json.parse("{\"k\": 1,\n \"k\": 2}"));
        assertEquals(2, dup.line());
        assertTrue(dup.getMessage().contains("duplicate key \"k\""), dup.getMessage());
    }

    @Test
    void limitsNestingDepthWithoutOverflowingTheStack() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertInstanceOf(List.class, Json.parse(ok));
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        assertThrows(JsonException.class, () -> Json.parse(deep));
        String hostile = "{\"a\":".repeat(100_000);
        assertThrows(JsonException.class, () -> Json.parse(hostile));
    }

    @Test
    void refusesToWriteWhatJsonCannotHold() {
        assertThrows(JsonException.class, () -> Json.write(Double.NaN));
        assertThrows(JsonException.class, () -> Json.write(List.of(Float.POSITIVE_INFINITY)));
        assertThrows(JsonException.class, () -> Json.write(Map.of(1, "x")));
        assertThrows(JsonException.class, () -> Json.write(new Object()));
        assertThrows(JsonException.class, () -> Json.write("\udc00"));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        assertThrows(JsonException.class, () -> Json.write(cycle));
    }

    @Test
    void writesNullsInsideCollectionsAndMaps() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("n", null);
        map.put("list", Arrays.asList(1, null));
        map.put("list", Arrays.asList(1L, null));
        assertEquals(map, Json.parse(Json.write(map)));
        assertEquals("{\n  \"n\": null,\n  \"list\": [1, null]\n}", Json.write(map));
    }

    @Test
    void readsAndAtomicallyWritesFiles(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("report.json");
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("study", "s1");
        value.put("probabilities", List.of(0.25, 0.5, 0.25));
        Json.writeAtomically(file, value);
        assertEquals(value, Json.read(file));
        value.put("study", "s2");
        Json.writeAtomically(file, value);
        assertEquals("s2", ((Map<?, ?>) Json.read(file)).get("study"));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(file), listing.toList(), "no temporary file left behind");
        }
        assertTrue(Files.readString(file).endsWith("}\n"));

        Path bom = dir.resolve("bom.json");
        Files.write(bom, "\uFEFF[1]".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(1L), Json.read(bom));

        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"a\": }");
        JsonException e = assertThrows(JsonException.class, () -> Json.read(broken));
        assertTrue(e.getMessage().startsWith(broken.toString()), e.getMessage());

        Path latin1 = dir.resolve("latin1.json");
        Files.write(latin1, new byte[] {'"', (byte) 0xe9, '"'});
        assertThrows(JsonException.class, () -> Json.read(latin1));
        assertFalse(Files.exists(dir.resolve("missing.json")));
        assertThrows(java.nio.file.NoSuchFileException.class,
                () -> Json.read(dir.resolve("missing.json")));
    }
}
