package dev.lumbar.engine.phantom;

import dev.lumbar.engine.study.SeriesType;
import java.util.List;

/**
 * One generated series: the folder name (a Kaggle-like number), its true type, the
 * SeriesDescription written into the files (scanner style, e.g. {@code SAG T1 TSE}), the
 * acquisition parameters, and the slices in InstanceNumber order.
 */
public record PhantomSeries(String seriesId, int seriesNumber, SeriesType type,
        String description, double repetitionTime, double echoTime, double sliceThickness,
        double sliceSpacing, List<PhantomSlice> slices) {

    /** How many distinct stacks the slices form. */
    public int stackCount() {
        return (int) slices.stream().mapToInt(PhantomSlice::stack).distinct().count();
    }
}
