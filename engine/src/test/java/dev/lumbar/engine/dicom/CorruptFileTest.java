package dev.lumbar.engine.dicom;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real files cut short at many points and with random bytes overwritten: every case must end,
 * quickly, in either a decoded image or a {@link DicomException} that names the file; never
 * another exception, a hang, or an allocation out of proportion to the file. The seed is
 * printed; set {@code -Dlumbar.fuzz.seed=N} to replay a run.
 */
class CorruptFileTest {

    private static final String[] SOURCES = {
        "pydicom/MR_small.dcm", "pydicom/MR_small_implicit.dcm",
        "pydicom/MR_small_bigendian.dcm", "pydicom/MR_small_RLE.dcm",
        "pydicom/image_dfl.dcm", "pydicom/MR_small_jp2klossless.dcm",
        "pydicom/JPEG2000.dcm", "pydicom/MR_small_jpeg_ls_lossless.dcm",
        "pydicom/no_meta_group_length.dcm", "pydicom/ExplVR_BigEndNoMeta.dcm",
        "pydicom/rtplan_truncated.dcm", "jpeg-lossless/jpeg_lossless_sel1.dcm",
    };
    private static final int TRUNCATIONS_PER_FILE = 120;
    private static final int MUTATIONS_PER_FILE = 220;
    private static final long CASE_TIMEOUT_MS = 5_000;
    /** Decoders keep some fixed working memory; beyond it, allocation must track the file. */
    private static final long ALLOCATION_SLACK = 48L << 20;
    private static final long ALLOCATION_PER_FILE_BYTE = 1_000;

    @TempDir
    Path dir;

    private final DicomReader reader = DicomReader.standard();

    @Test
    void truncatedAndCorruptedFilesDecodeOrFailWithADicomException() throws Exception {
        Path shared = SharedFiles.dicomDir();
        long seed = Long.getLong("lumbar.fuzz.seed", 20_241_204L);
        System.out.println("corrupt-file seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

        List<String> failures = new ArrayList<>();
        int cases = 0;
        int decoded = 0;
        long started = System.nanoTime();
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "corrupt-file-reader");
            t.setDaemon(true);
            return t;
        });
        try {
            for (String source : SOURCES) {
                byte[] original = Files.readAllBytes(shared.resolve(source));
                for (int c = 0; c < TRUNCATIONS_PER_FILE + MUTATIONS_PER_FILE; c++) {
                    String what;
                    byte[] bytes;
                    if (c < TRUNCATIONS_PER_FILE) {
                        // Dense cuts through the header, then anywhere.
                        int cut = c < 40 ? random.nextInt(Math.min(original.length, 400))
                                : random.nextInt(original.length);
                        bytes = java.util.Arrays.copyOf(original, cut);
                        what = source + " cut at " + cut;
                    } else {
                        bytes = original.clone();
                        what = source + " " + mutate(bytes, random);
                    }
                    Path file = dir.resolve("case-" + cases + ".dcm");
                    Files.write(file, bytes);
                    cases++;

                    Future<String> outcome = worker.submit(() -> {
                        long before = threads.getCurrentThreadAllocatedBytes();
                        String result;
                        try {
                            reader.read(file);
                            result = "decoded";
                        } catch (DicomException e) {
                            result = file.equals(e.file())
                                    && e.getMessage().startsWith(file.toString())
                                    ? "refused" : "error not naming the file: " + e;
                        }
                        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                        long allowed = ALLOCATION_SLACK + ALLOCATION_PER_FILE_BYTE * bytes.length;
                        return allocated > allowed
                                ? "allocated " + allocated + " bytes for a " + bytes.length
                                + "-byte file" : result;
                    });
                    String result;
                    try {
                        result = outcome.get(CASE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    } catch (TimeoutException e) {
                        failures.add(what + ": no result after " + CASE_TIMEOUT_MS + " ms");
                        // The stuck reader keeps its thread; later cases get a fresh one.
                        worker.shutdownNow();
                        worker = Executors.newSingleThreadExecutor();
                        continue;
                    } catch (ExecutionException e) {
                        failures.add(what + ": " + e.getCause());
                        continue;
                    }
                    if (result.equals("decoded")) {
                        decoded++;
                    } else if (!result.equals("refused")) {
                        failures.add(what + ": " + result);
                    }
                    Files.delete(file);
                }
            }
        } finally {
            worker.shutdownNow();
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("corrupt-file cases: %d (%d decoded, %d refused) in %d ms%n", cases,
                decoded, cases - decoded - failures.size(), millis);
        assertTrue(failures.isEmpty(), failures.size() + " cases misbehaved (seed " + seed
                + "):\n" + String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
    }

    /** Overwrites a few bytes: random values, or a length-shaped poison, mostly in the header. */
    private static String mutate(byte[] bytes, SplittableRandom random) {
        StringBuilder what = new StringBuilder("with");
        int edits = 1 + random.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int span = random.nextBoolean() ? Math.min(bytes.length, 1024) : bytes.length;
            int at = random.nextInt(span);
            int kind = random.nextInt(4);
            if (kind == 0 && at + 4 <= bytes.length) {
                int poison = switch (random.nextInt(3)) {
                    case 0 -> 0xFFFF_FFFF;
                    case 1 -> 0x7FFF_FFF0;
                    default -> random.nextInt();
                };
                for (int b = 0; b < 4; b++) {
                    bytes[at + b] = (byte) (poison >>> (8 * b));
                }
                what.append(String.format(" int %08x at %d", poison, at));
            } else if (kind == 1) {
                bytes[at] ^= (byte) (1 << random.nextInt(8));
                what.append(" bit flip at ").append(at);
            } else {
                bytes[at] = (byte) random.nextInt(256);
                what.append(" byte ").append(bytes[at] & 0xFF).append(" at ").append(at);
            }
        }
        return what.toString();
    }
}
