package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutations of every shared DICOM file, large ones included (the coverage-guided corpus
 * holds only the small ones): truncations, flipped bytes, forged 16- and 32-bit lengths, and a
 * zeroed region. Each mutant is decoded; the reader must return an image whose frames can all
 * be read, or refuse with a {@link DicomException} that names the file. The seed is printed so a
 * failure can be replayed.
 */
class SharedFileMutationTest {

    private static final long SEED = 20261204L;
    private static final int MUTANTS_PER_FILE = 10;

    @TempDir
    Path dir;

    @Test
    void everyMutantOfEverySharedFileDecodesOrIsRefusedByName() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(SharedFiles.dicomDir())) {
            files = walk.filter(f -> f.toString().endsWith(".dcm")).sorted().toList();
        }
        assertTrue(files.size() > 10, "expected the shared DICOM files, found " + files.size());
        SplittableRandom random = new SplittableRandom(SEED);
        DicomReader reader = DicomReader.standard();
        Path mutant = dir.resolve("mutant.dcm");
        int decoded = 0;
        int refused = 0;
        long start = System.nanoTime();
        for (Path original : files) {
            byte[] bytes = Files.readAllBytes(original);
            for (int m = 0; m < MUTANTS_PER_FILE; m++) {
                Mutant mutated = mutate(bytes, m, random);
                String how = mutated.how();
                Files.write(mutant, mutated.bytes());
                try {
                    DicomImage image = reader.read(mutant);
                    float[] frame = new float[image.rows() * image.columns()
                            * image.samplesPerPixel()];
                    for (int f = 0; f < image.frames(); f++) {
                        image.readFrame(f, frame);
                    }
                    decoded++;
                } catch (DicomException e) {
                    if (!e.getMessage().contains("mutant.dcm")) {
                        fail(original + " " + how + ": refusal without the file name: " + e);
                    }
                    refused++;
                } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
                    throw new AssertionError(original.getFileName() + " " + how + " (seed " + SEED
                            + "): " + e, e);
                }
            }
        }
        System.out.printf("shared-file mutants: %d files x %d = %d mutants, %d decoded, %d"
                + " refused, %.1f s%n", files.size(), MUTANTS_PER_FILE,
                files.size() * MUTANTS_PER_FILE, decoded, refused,
                (System.nanoTime() - start) / 1e9);
    }

    private record Mutant(byte[] bytes, String how) {
    }

    /** Mutant {@code m} of {@code bytes}: the kind of damage cycles with {@code m}. */
    private static Mutant mutate(byte[] bytes, int m, SplittableRandom random) {
        byte[] out = bytes.clone();
        int at = random.nextInt(Math.max(1, bytes.length));
        String how;
        switch (m % 5) {
            case 0 -> {
                out = java.util.Arrays.copyOf(bytes, at);
                how = "truncated to " + at;
            }
            case 1 -> {
                int flips = 1 + random.nextInt(16);
                for (int i = 0; i < flips; i++) {
                    int p = random.nextInt(out.length);
                    out[p] ^= (byte) (1 << random.nextInt(8));
                }
                how = flips + " bit flips";
            }
            case 2 -> {
                // a forged short length where a VR is, or a long one after it
                int p = Math.min(at, out.length - 4);
                int value = random.nextBoolean() ? 0xFFFF : random.nextInt();
                out[Math.max(0, p)] = (byte) value;
                out[Math.max(0, p) + 1] = (byte) (value >>> 8);
                out[Math.max(0, p) + 2] = (byte) (value >>> 16);
                out[Math.max(0, p) + 3] = (byte) (value >>> 24);
                how = "4 bytes at " + p + " set to " + Integer.toHexString(value);
            }
            case 3 -> {
                int n = Math.min(out.length - at, 1 + random.nextInt(256));
                java.util.Arrays.fill(out, at, at + n, (byte) 0);
                how = n + " bytes zeroed at " + at;
            }
            default -> {
                // 0xFFFFFFFF (undefined length) written just after a random tag-like offset
                int p = Math.max(0, Math.min(at - at % 2, out.length - 4));
                java.util.Arrays.fill(out, p, p + 4, (byte) 0xFF);
                how = "undefined length forged at " + p;
            }
        }
        return new Mutant(out, how);
    }
}
