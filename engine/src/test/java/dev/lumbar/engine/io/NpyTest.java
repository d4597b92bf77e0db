package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NpyTest {

    @TempDir
    Path dir;

    private static Path fixture(String name) throws Exception {
        return Path.of(NpyTest.class.getResource("/fixtures/io/" + name).toURI());
    }

    /** Element i of every fixture, as make_io_fixtures.py computes it in float32. */
    private static float[] pattern(int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) i / 7f - 3f;
        }
        return values;
    }

    @ParameterizedTest
    @CsvSource({"f4_v1.npy, 2;3;4", "f4_v2.npy, 3;5", "f4_v3.npy, 3;5", "f4_scalar.npy, ''"})
    void readsFloat32FilesWrittenByNumpy(String name, String dims) throws Exception {
        long[] shape = dims.isEmpty() ? new long[0]
                : java.util.Arrays.stream(dims.split(";")).mapToLong(Long::parseLong).toArray();
        try (Tensor array = Npy.read(fixture(name))) {
            assertEquals(DType.F32, array.dtype());
            assertArrayEquals(shape, array.shape());
            assertArrayEquals(pattern((int) Tensor.numel(shape)), array.toFloatArray());
        }
    }

    @Test
    void readsFloat64FilesByRoundingToFloat32() throws Exception {
        try (Tensor array = Npy.read(fixture("f8_v1.npy"))) {
            assertArrayEquals(new long[] {5}, array.shape());
            float[] values = array.toFloatArray();
            for (int i = 0; i < 5; i++) {
                assertEquals((float) (i / 7.0 - 3.0), values[i], "element " + i);
            }
        }
    }

    @Test
    void refusesFortranOrderAndBigEndianArrays() throws Exception {
        NpyException fortran = assertThrows(NpyException.class,
                () -> Npy.read(fixture("f4_fortran.npy")));
        assertTrue(fortran.getMessage().contains("Fortran order"), fortran.getMessage());
        NpyException big = assertThrows(NpyException.class,
                () -> Npy.read(fixture("f4_big_endian.npy")));
        assertTrue(big.getMessage().contains("'>f4'"), big.getMessage());
    }

    @Test
    void roundTripsFloat32TensorsOfAnyRank() throws IOException {
        SplittableRandom random = new SplittableRandom(3);
        long[][] shapes = {{}, {7}, {2, 3}, {2, 1, 4, 3}, {0, 5}};
        for (long[] shape : shapes) {
            Tensor original = Tensor.allocate(DType.F32, shape);
            for (long i = 0; i < original.numel(); i++) {
                original.setFloat(i, (float) random.nextGaussian());
            }
            Path file = dir.resolve("t.npy");
            Npy.write(file, original);
            byte[] bytes = Files.readAllBytes(file);
            int headerLength = ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN)
                    .getShort();
            assertEquals(0, (10 + headerLength) % 64, "data aligned to 64 bytes");
            try (Tensor back = Npy.read(file)) {
                assertArrayEquals(shape, back.shape());
                assertArrayEquals(original.toFloatArray(), back.toFloatArray());
            }
            original.close();
        }
        String header = new String(Files.readAllBytes(dir.resolve("t.npy")), 10, 60,
                StandardCharsets.ISO_8859_1);
        assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5)"),
                header);
    }

    @Test
    void refusesToWriteOtherDtypes() {
        try (Tensor half = Tensor.allocate(DType.F16, 2)) {
            assertThrows(NpyException.class, () -> Npy.write(dir.resolve("h.npy"), half));
        }
    }

    @Test
    void rejectsFloat64ValuesBeyondFloat32Range() throws IOException {
        Path file = dir.resolve("wide.npy");
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        data.putDouble(1.0).putDouble(Double.POSITIVE_INFINITY).putDouble(1e300);
        Files.write(file, npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                data.array()));
        NpyException e = assertThrows(NpyException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().contains("element 2"), e.getMessage());
    }

    @Test
    void rejectsMalformedFilesWithTypedErrorsNamingTheFile() throws IOException {
        String good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        byte[] eight = new byte[8];
        byte[][] cases = {
            new byte[5],
            "NUMPY-not-really".getBytes(StandardCharsets.ISO_8859_1),
            npy(4, good, eight),
            npy(1, good, new byte[4]),
            npy(1, good, new byte[12]),
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", eight),
            npy(1, "{'descr': '<f4', 'fortran_order': False}", eight),
            npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", eight),
            npy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", eight),
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", eight),
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", eight),
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", eight),
            npy(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                    eight),
            npy(1, "{'descr': '<f4', 'fortran_order': False, "
                    + "'shape': (4294967296, 4294967296), }", eight),
            npy(2, good, eight),
        };
        for (int i = 0; i < cases.length; i++) {
            Path file = dir.resolve("bad" + i + ".npy");
            Files.write(file, cases[i]);
            NpyException e = assertThrows(NpyException.class, () -> Npy.read(file),
                    "case " + i);
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        }
        byte[] claimsTooMuch = npy(2, good, eight);
        ByteBuffer.wrap(claimsTooMuch).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 0x7fffffff);
        Path file = dir.resolve("long-header.npy");
        Files.write(file, claimsTooMuch);
        assertThrows(NpyException.class, () -> Npy.read(file));
    }

    /**
     * An .npy file with the given version and dict; a version-2 file written through this
     * helper deliberately gets a 2-byte length, so it must be rejected.
     */
    private static byte[] npy(int major, String dict, byte[] data) {
        byte[] header = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer out = ByteBuffer.allocate(10 + header.length + data.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        out.putShort((short) header.length).put(header).put(data);
        return out.array();
    }
}
