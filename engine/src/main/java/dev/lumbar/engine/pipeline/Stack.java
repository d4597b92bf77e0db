package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.tensor.Tensor;

/**
 * One stack of parallel slices of a study, as the pipeline reads it.
 *
 * @param seriesId the series' folder name or number (not a UID)
 * @param type     the series type it was given
 * @param typedBy  which rule gave the type (series CSV, description, geometry), for the report
 * @param volume   {@code [slices, rows, cols]} F32 on the CPU, slices in stack order
 * @param geometry where the slices lie
 * @param instanceNumbers each slice's InstanceNumber, in stack order (the slice numbering of
 *                 Kaggle's coordinate files)
 * @param seriesSlices where each slice lies among all of the series' slices (its stacks one
 *                 after another, each in position order), for the report; a slice that
 *                 could not be read is missing from its stack, so the numbers can skip one
 */
public record Stack(String seriesId, SeriesType type, String typedBy, Tensor volume,
        StackGeometry geometry, int[] instanceNumbers, int[] seriesSlices) {

    public Stack {
        if (volume.rank() != 3 || volume.dim(0) != geometry.slices()) {
            throw new IllegalArgumentException("series " + seriesId + ": volume " + volume
                    + " does not match its " + geometry.slices() + " slice positions");
        }
        if (instanceNumbers.length != geometry.slices()) {
            throw new IllegalArgumentException("series " + seriesId + ": "
                    + instanceNumbers.length + " instance numbers for " + geometry.slices()
                    + " slices");
        }
        if (seriesSlices.length != geometry.slices()) {
            throw new IllegalArgumentException("series " + seriesId + ": "
                    + seriesSlices.length + " series slice numbers for " + geometry.slices()
                    + " slices");
        }
        instanceNumbers = instanceNumbers.clone();
        seriesSlices = seriesSlices.clone();
    }

    /** Slice {@code s} of this stack among all of its series' slices. */
    public int seriesSlice(int s) {
        return seriesSlices[s];
    }

    /** The slice whose InstanceNumber is {@code instance}, or -1. */
    public int sliceOfInstance(int instance) {
        for (int s = 0; s < instanceNumbers.length; s++) {
            if (instanceNumbers[s] == instance) {
                return s;
            }
        }
        return -1;
    }

    /** How many of the stack's slices carry InstanceNumber {@code instance}. */
    public int slicesOfInstance(int instance) {
        int count = 0;
        for (int number : instanceNumbers) {
            count += number == instance ? 1 : 0;
        }
        return count;
    }

    public int slices() {
        return volume.size(0);
    }

    public int rows() {
        return volume.size(1);
    }

    public int cols() {
        return volume.size(2);
    }
}
