package dev.lumbar.engine.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.CudaException;
import dev.lumbar.engine.pipeline.Networks;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bags that run the device out of memory are graded in halves, with the same answers. */
class ResilientNetworksTest {

    private static final Path CARD = Path.of("member.model.json");

    /**
     * A grader whose logits for a bag are its pixel sum, mean and first value, and which
     * throws the exception a GPU throws when given more than {@code fits} bags.
     */
    private static final class SmallDevice implements Networks {
        final int fits;
        final RuntimeException outOfMemory;
        final List<Integer> batches = new ArrayList<>();

        SmallDevice(int fits, RuntimeException outOfMemory) {
            this.fits = fits;
            this.outOfMemory = outOfMemory;
        }

        @Override
        public BagGrader grader(Path card) {
            return new BagGrader() {
                @Override
                public int slices() {
                    return 2;
                }

                @Override
                public int channels() {
                    return 1;
                }

                @Override
                public Grades grade(Tensor bags) {
                    int t = bags.size(0);
                    batches.add(t);
                    if (t > fits) {
                        throw outOfMemory;
                    }
                    float[] values = bags.toFloatArray();
                    int per = values.length / t;
                    float[][] logits = new float[t][3];
                    float[][] attention = new float[t][2];
                    for (int b = 0; b < t; b++) {
                        for (int i = 0; i < per; i++) {
                            logits[b][0] += values[b * per + i];
                        }
                        logits[b][1] = logits[b][0] / per;
                        logits[b][2] = values[b * per];
                        attention[b] = new float[] {b, 1 - b};
                    }
                    return new Grades(logits, attention);
                }
            };
        }

        @Override
        public SliceScorer sliceScorer(Path card) {
            throw new UnsupportedOperationException();
        }

        @Override
        public PointModel pointModel(Path card) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String backendName() {
            return "simulated";
        }

        @Override
        public void close() {
        }
    }

    private static Tensor bags(int count) {
        float[] values = new float[count * 2 * 1 * 4 * 4];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i * 37 % 101) / 7f;
        }
        return Tensor.of(values, count, 2, 1, 4, 4);
    }

    private static CudaException driverOutOfMemory() {
        return new CudaException("cuMemAlloc_v2(1073741824 bytes)", 2,
                "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
    }

    @Test
    void bagsThatDoNotFitAreGradedInHalvesWithTheSameLogits() {
        SmallDevice whole = new SmallDevice(100, driverOutOfMemory());
        SmallDevice small = new SmallDevice(2, driverOutOfMemory());
        ResilientNetworks view = new ResilientNetworks(small, null);
        try (Tensor bags = bags(5)) {
            Networks.Grades expected = whole.grader(CARD).grade(bags);
            Networks.Grades split = view.grader(CARD).grade(bags);

            for (int b = 0; b < 5; b++) {
                assertArrayEquals(expected.logits()[b], split.logits()[b], 1e-4f, "bag " + b);
            }
            assertEquals(5, split.attention().length);
        }
        // 5 fails, then 2 and 3; 3 fails, then 1 and 2
        assertEquals(List.of(5, 2, 3, 1, 2), small.batches);
        assertEquals(List.of("the GPU ran out of memory grading 5 bags with member.model.json;"
                + " graded them in smaller batches", "the GPU ran out of memory grading 3 bags"
                + " with member.model.json; graded them in smaller batches"), view.notes());
    }

    @Test
    void theBackendsOwnMemoryLimitAndLibraryAllocationFailuresCountAsOutOfMemory() {
        assertTrue(DeviceOutOfMemory.is(new IllegalStateException("device memory limit of 1 MiB"
                + " reached: 1 MiB in use, 2 MiB more requested")));
        assertTrue(DeviceOutOfMemory.is(new RuntimeException("conv", new CudaException(
                "cublasSgemm_v2", 3, "CUBLAS_STATUS_ALLOC_FAILED", ""))));
        assertTrue(!DeviceOutOfMemory.is(new CudaException("cuLaunchKernel", 700,
                "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access")));
        assertTrue(!DeviceOutOfMemory.is(new IllegalArgumentException("bad shape")));
    }

    @Test
    void otherFailuresAndASingleBagThatDoesNotFitAreNotRetried() {
        IllegalArgumentException bug = new IllegalArgumentException("bad shape");
        SmallDevice broken = new SmallDevice(0, bug);
        try (Tensor bags = bags(4)) {
            assertSame(bug, assertThrows(IllegalArgumentException.class,
                    () -> new ResilientNetworks(broken, null).grader(CARD).grade(bags)));
        }
        assertEquals(List.of(4), broken.batches);

        SmallDevice tiny = new SmallDevice(0, driverOutOfMemory());
        try (Tensor bags = bags(2)) {
            CudaException e = assertThrows(CudaException.class,
                    () -> new ResilientNetworks(tiny, null).grader(CARD).grade(bags));
            assertTrue(DeviceOutOfMemory.is(e));
        }
        assertEquals(List.of(2, 1), tiny.batches);
    }
}
