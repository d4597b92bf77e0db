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
 */
public record Stack(String seriesId, SeriesType type, String typedBy, Tensor volume,
        StackGeometry geometry) {

    public Stack {
        if (volume.rank() != 3 || volume.dim(0) != geometry.slices()) {
            throw new IllegalArgumentException("series " + seriesId + ": volume " + volume
                    + " does not match its " + geometry.slices() + " slice positions");
        }
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
