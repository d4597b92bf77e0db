package dev.lumbar.engine.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.CudaException;
import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** Outcomes in order, failures kept to their study, time limits enforced. */
class BatchRunnerTest {

    private static List<BatchRunner.Outcome<Integer>> run(int workers, Duration limit,
            Duration grace, int count, BatchRunner.Job<Integer> job) throws IOException {
        List<BatchRunner.Outcome<Integer>> outcomes = new ArrayList<>();
        new BatchRunner<Integer>(workers, limit, grace).run(count, job, outcomes::add);
        return outcomes;
    }

    @Test
    void outcomesArriveInStudyOrderWhicheverFinishesFirst() throws IOException {
        List<BatchRunner.Outcome<Integer>> outcomes = run(3, Duration.ofSeconds(10),
                Duration.ofSeconds(1), 9, (index, deadline) -> {
                    Thread.sleep((9 - index) * 15L);
                    return index * index;
                });

        assertEquals(9, outcomes.size());
        for (int i = 0; i < 9; i++) {
            var graded = assertInstanceOf(BatchRunner.Graded.class, outcomes.get(i));
            assertEquals(i, graded.index());
            assertEquals(i * i, graded.result());
        }
    }

    @Test
    void anyThrowableFailsOnlyItsStudy() throws IOException {
        List<BatchRunner.Outcome<Integer>> outcomes = run(2, Duration.ofSeconds(10),
                Duration.ofSeconds(1), 5, (index, deadline) -> switch (index) {
                    case 1 -> throw new IllegalArgumentException("slice 3: no pixel data");
                    case 2 -> throw new OutOfMemoryError("Java heap space");
                    case 3 -> throw new CudaException("cudnnConvolutionForward", 8,
                            "CUDNN_STATUS_EXECUTION_FAILED", "execution failed");
                    default -> index;
                });

        assertInstanceOf(BatchRunner.Graded.class, outcomes.get(0));
        assertEquals(new StudyFailure(StudyFailure.Kind.ERROR, "slice 3: no pixel data"),
                failure(outcomes.get(1)));
        assertEquals(StudyFailure.Kind.OUT_OF_MEMORY, failure(outcomes.get(2)).kind());
        assertEquals(StudyFailure.Kind.NATIVE, failure(outcomes.get(3)).kind());
        assertTrue(failure(outcomes.get(3)).message().contains("CUDNN_STATUS_EXECUTION_FAILED"));
        assertEquals(4, ((BatchRunner.Graded<?>) outcomes.get(4)).result());
    }

    @Test
    void failureMessagesWithholdUids() {
        StudyFailure failure = StudyFailure.of(new IllegalArgumentException(
                "series 1.2.840.113619.2.55.3.604688119 unreadable"), new StudyDeadline(
                Duration.ofSeconds(1)));
        assertTrue(!failure.message().contains("1.2.840.113619"), failure.message());
    }

    private static StudyFailure failure(BatchRunner.Outcome<Integer> outcome) {
        return assertInstanceOf(BatchRunner.Failed.class, outcome).failure();
    }

    @Test
    void aStudyPastItsLimitStopsAtItsNextCheckAndTheNextOneRuns() throws IOException {
        long start = System.nanoTime();
        List<BatchRunner.Outcome<Integer>> outcomes = run(1, Duration.ofMillis(200),
                Duration.ofSeconds(20), 2, (index, deadline) -> {
                    while (index == 0) {
                        StudyDeadline.checkCurrent();
                        Thread.onSpinWait();
                    }
                    return index;
                });
        double seconds = (System.nanoTime() - start) / 1e9;

        assertEquals(StudyFailure.Kind.TIMEOUT, failure(outcomes.get(0)).kind());
        assertEquals("exceeded the time limit of 0.2 s per study (--study-timeout) and was"
                + " abandoned", failure(outcomes.get(0)).message());
        assertEquals(1, ((BatchRunner.Graded<?>) outcomes.get(1)).result());
        assertTrue(seconds < 5, "took " + seconds + " s; the grace period was not needed");
    }

    @Test
    void aStudyThatNeverChecksIsAbandonedAndGivesUpItsWorker() throws IOException {
        CountDownLatch never = new CountDownLatch(1);
        try {
            // the grace is long enough that a study returning at once is never judged late,
            // however loaded the machine: only the stuck one waits it out
            List<BatchRunner.Outcome<Integer>> outcomes = run(1, Duration.ofMillis(200),
                    Duration.ofSeconds(3), 3, (index, deadline) -> {
                        if (index == 0) {
                            // stuck where no check reaches and deaf to interrupts
                            while (never.getCount() > 0) {
                                Thread.onSpinWait();
                            }
                        }
                        return index;
                    });

            assertEquals(StudyFailure.Kind.TIMEOUT, failure(outcomes.get(0)).kind());
            assertEquals(1, ((BatchRunner.Graded<?>) outcomes.get(1)).result());
            assertEquals(2, ((BatchRunner.Graded<?>) outcomes.get(2)).result());
        } finally {
            never.countDown();
        }
    }

    @Test
    void aStudyThatReturnedWhileTheCommitterWasBusyIsGradedNotAbandoned() throws IOException {
        CountDownLatch secondReturned = new CountDownLatch(1);
        List<BatchRunner.Outcome<Integer>> outcomes = new ArrayList<>();
        new BatchRunner<Integer>(2, Duration.ofMillis(50), Duration.ofMillis(50)).run(2,
                (index, deadline) -> {
                    if (index == 1) {
                        secondReturned.countDown();
                    }
                    return index;
                }, outcome -> {
                    outcomes.add(outcome);
                    if (outcome.index() == 0) {
                        // a slow commit: study 1 is long done and past limit plus grace
                        // when the runner turns to it
                        try {
                            secondReturned.await();
                            Thread.sleep(400);
                        } catch (InterruptedException e) {
                            throw new IOException(e);
                        }
                    }
                });

        assertEquals(1, assertInstanceOf(BatchRunner.Graded.class, outcomes.get(1)).result());
    }

    @Test
    void aCommitThatFailsStopsTheBatch() {
        List<Integer> committed = new ArrayList<>();
        IOException e = assertThrows(IOException.class, () -> new BatchRunner<Integer>(2,
                Duration.ofSeconds(10), Duration.ofSeconds(1)).run(6, (index, d) -> index,
                outcome -> {
                    if (outcome.index() == 2) {
                        throw new IOException("disk full");
                    }
                    committed.add(outcome.index());
                }));
        assertEquals("disk full", e.getMessage());
        assertEquals(List.of(0, 1), committed);
    }

    @Test
    void theCpuWorkerPoolGivesTheSameAnswerAfterAStudyIsCancelledMidForward() throws Exception {
        Random random = new Random(5);
        float[] image = new float[2 * 8 * 32 * 32];
        float[] kernel = new float[16 * 8 * 3 * 3];
        for (int i = 0; i < image.length; i++) {
            image[i] = random.nextFloat() - 0.5f;
        }
        for (int i = 0; i < kernel.length; i++) {
            kernel[i] = random.nextFloat() - 0.5f;
        }
        Conv2dSpec spec = Conv2dSpec.symmetric(1, 1, 1, 1);
        try (CpuBackend cpu = new CpuBackend(2);
                DeadlineBackend backend = new DeadlineBackend(cpu);
                Tensor x = Tensor.of(image, 2, 8, 32, 32);
                Tensor w = Tensor.of(kernel, 16, 8, 3, 3)) {
            float[] before;
            try (Tensor y = backend.conv2d(x, w, null, spec, Activation.IDENTITY)) {
                before = y.toFloatArray();
            }

            // a study that keeps convolving until its deadline stops it
            StudyDeadline deadline = new StudyDeadline(Duration.ofMillis(150));
            deadline.begin();
            assertThrows(StudyTimeoutException.class, () -> deadline.within(() -> {
                while (true) {
                    try (Tensor y = backend.conv2d(x, w, null, spec, Activation.IDENTITY)) {
                        y.toFloatArray();
                    }
                }
            }));

            try (Tensor y = backend.conv2d(x, w, null, spec, Activation.IDENTITY)) {
                assertEquals(java.util.Arrays.toString(before),
                        java.util.Arrays.toString(y.toFloatArray()));
            }
        }
    }

    /** A limit is written as it was given: whole seconds, milliseconds, or less. */
    @Test
    void timeLimitsAreWrittenReadably() {
        assertEquals("600", StudyDeadline.seconds(java.time.Duration.ofSeconds(600)));
        assertEquals("0.2", StudyDeadline.seconds(java.time.Duration.ofMillis(200)));
        assertEquals("1.00e-09", StudyDeadline.seconds(java.time.Duration.ofNanos(1)));
    }
}
