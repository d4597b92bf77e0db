package dev.lumbar.engine.batch;

import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.pipeline.Networks;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.Lock;

/**
 * One study's view of networks shared by the whole batch. Network calls take turns through
 * {@code deviceLock} when one is given (a GPU, whose streams and library handles one study at a
 * time uses). A stage-2 batch of bags that runs the device out of memory is graded again in
 * halves, down to one bag at a time; each such retreat is noted once per card for the study's
 * report. Closing this view does nothing: the shared networks belong to the batch.
 */
public final class ResilientNetworks implements Networks {

    private static final System.Logger LOG = System.getLogger(ResilientNetworks.class.getName());

    private final Networks shared;
    private final Lock deviceLock;
    private final List<String> notes = new ArrayList<>();

    /**
     * @param shared     the batch's loaded networks
     * @param deviceLock held around every network call, or null when calls may overlap
     */
    public ResilientNetworks(Networks shared, Lock deviceLock) {
        this.shared = shared;
        this.deviceLock = deviceLock;
    }

    /** What this study's networks had to do differently, for its report. */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    // LIMITATION: only stage-2 bags are split; a stage-1 stack that does not fit on the device
    // is not, and the whole study goes to the CPU fallback instead.
    @Override
    public SliceScorer sliceScorer(Path card) {
        SliceScorer scorer = shared.sliceScorer(card);
        return new SliceScorer() {
            @Override
            public dev.lumbar.engine.pipeline.ImageInput input() {
                return scorer.input();
            }

            @Override
            public int targets() {
                return scorer.targets();
            }

            @Override
            public SlicePicks score(Tensor slices) {
                lock();
                try {
                    return scorer.score(slices);
                } finally {
                    unlock();
                }
            }
        };
    }

    @Override
    public PointModel pointModel(Path card) {
        PointModel model = shared.pointModel(card);
        return new PointModel() {
            @Override
            public dev.lumbar.engine.pipeline.ImageInput input() {
                return model.input();
            }

            @Override
            public int targets() {
                return model.targets();
            }

            @Override
            public float[][][] locate(Tensor images) {
                lock();
                try {
                    return model.locate(images);
                } finally {
                    unlock();
                }
            }
        };
    }

    @Override
    public Optional<CudaBackend> bagDevice() {
        return shared.bagDevice();
    }

    @Override
    public BagGrader grader(Path card) {
        BagGrader grader = shared.grader(card);
        return new BagGrader() {
            @Override
            public int slices() {
                return grader.slices();
            }

            @Override
            public int channels() {
                return grader.channels();
            }

            @Override
            public Grades grade(Tensor bags) {
                return gradeSplitting(card, grader, bags);
            }
        };
    }

    /** Grades {@code bags} {@code [T, S, C, h, w]}, halving T while the device is out of memory. */
    private Grades gradeSplitting(Path card, BagGrader grader, Tensor bags) {
        int bagCount = bags.size(0);
        try {
            lock();
            try {
                return grader.grade(bags);
            } finally {
                unlock();
            }
        } catch (RuntimeException e) {
            if (bagCount < 2 || !DeviceOutOfMemory.is(e)) {
                throw e;
            }
            int half = bagCount / 2;
            String note = "the GPU ran out of memory grading " + bagCount + " bags with "
                    + card.getFileName() + "; graded them in smaller batches";
            if (!notes.contains(note)) {
                notes.add(note);
            }
            LOG.log(System.Logger.Level.WARNING, note);
            try (Tensor first = bagRange(bags, 0, half);
                    Tensor second = bagRange(bags, half, bagCount)) {
                return concat(gradeSplitting(card, grader, first),
                        gradeSplitting(card, grader, second));
            }
        }
    }

    /**
     * Bags {@code [from, to)} of {@code [T, ...]}: a view that borrows the bags' memory, on
     * whichever device they are, so device bags are split without a copy.
     */
    static Tensor bagRange(Tensor bags, int from, int to) {
        long perBag = bags.numel() / bags.dim(0);
        long bytesPerBag = perBag * bags.dtype().byteSize();
        long[] shape = bags.shape().clone();
        shape[0] = to - from;
        return Tensor.wrap(bags.segment().asSlice(from * bytesPerBag, (to - from) * bytesPerBag),
                bags.dtype(), bags.device(), shape);
    }

    private static Grades concat(Grades a, Grades b) {
        float[][] logits = new float[a.logits().length + b.logits().length][];
        System.arraycopy(a.logits(), 0, logits, 0, a.logits().length);
        System.arraycopy(b.logits(), 0, logits, a.logits().length, b.logits().length);
        float[][] attention = null;
        if (a.attention() != null && b.attention() != null) {
            attention = new float[logits.length][];
            System.arraycopy(a.attention(), 0, attention, 0, a.attention().length);
            System.arraycopy(b.attention(), 0, attention, a.attention().length,
                    b.attention().length);
        }
        return new Grades(logits, attention);
    }

    private void lock() {
        if (deviceLock != null) {
            deviceLock.lock();
        }
    }

    private void unlock() {
        if (deviceLock != null) {
            deviceLock.unlock();
        }
    }

    @Override
    public String backendName() {
        return shared.backendName();
    }

    @Override
    public void close() {
        // the shared networks belong to the batch
    }
}
