package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.backend.cuda.CudaBackend;
import java.util.Optional;

import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;

/**
 * The networks of an ensemble, by model card: what the pipeline asks of them. Implementations
 * load each card once and keep it until {@link #close()}.
 */
public interface Networks extends AutoCloseable {

    /** A stage-1 slice scorer: which slice of a series holds each target. */
    interface SliceScorer {
        ImageInput input();

        /** Targets scored per slice. */
        int targets();

        /**
         * @param slices {@code [n, C, H, W]}, every slice of one stack, in stack order
         */
        SlicePicks score(Tensor slices);
    }

    /** The chosen slice per target and the smoothed probability that chose it. */
    record SlicePicks(int[] slice, float[] confidence) {
    }

    /** A stage-1 point model: where each target lies in an image. */
    interface PointModel {
        ImageInput input();

        int targets();

        /**
         * @param images {@code [N, C, H, W]}
         * @return {@code [N][targets][2]}: (x / W, y / H), 0 and 1 at the image's outer edges
         */
        float[][][] locate(Tensor images);
    }

    /** A stage-2 grader: severity logits per bag. */
    interface BagGrader {
        /** Instances, channels and size the card's {@code input} declares (0 when it is silent). */
        int slices();

        int channels();

        /**
         * @param bags {@code [T, S, C, h, w]}
         */
        Grades grade(Tensor bags);
    }

    /**
     * Logits {@code [T][3]} in severity order and, for attention heads, the attention over the
     * instances {@code [T][S]} (null for heads without one).
     */
    record Grades(float[][] logits, float[][] attention) {
    }

    SliceScorer sliceScorer(Path card);

    PointModel pointModel(Path card);

    BagGrader grader(Path card);

    /**
     * The CUDA backend the graders run on, when they run on one: the pipeline then cuts bags on
     * that device and hands the graders device tensors. Empty (the default) means bags are cut
     * on the CPU and graders take host tensors.
     */
    default Optional<CudaBackend> bagDevice() {
        return Optional.empty();
    }

    /** The backend that runs the networks, for reports, e.g. {@code cpu (OpenBLAS)}. */
    String backendName();

    @Override
    void close();
}
