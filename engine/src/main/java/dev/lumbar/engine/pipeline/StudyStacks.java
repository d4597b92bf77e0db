package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.study.Series;
import dev.lumbar.engine.study.Slice;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyException;
import dev.lumbar.engine.study.VolumeLoader;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns a scanned {@link Study} into the stacks the pipeline reads, decoding their volumes.
 * A sagittal series gives its largest stack; an axial series gives every stack (axial blocks
 * at several discs are separate stacks). A series that cannot be typed, or whose pixels cannot
 * be decoded, is left out with a warning: the study goes on without that view. A slice that
 * cannot be decoded is left out alone while most of its stack can be.
 */
public final class StudyStacks implements AutoCloseable {

    private final List<Stack> stacks;

    private StudyStacks(List<Stack> stacks) {
        this.stacks = stacks;
    }

    /** Decodes the stacks of {@code study}; problems with single series become warnings. */
    public static StudyStacks load(Study study, VolumeLoader loader, List<String> warnings) {
        List<Stack> stacks = new ArrayList<>();
        try {
            for (Series series : study.series()) {
                if (!series.typing().decided()) {
                    warnings.add("series " + series.id() + " is not used: "
                            + series.typing().reason());
                    continue;
                }
                SeriesType type = series.type();
                List<dev.lumbar.engine.study.Stack> chosen = type.isSagittal()
                        ? List.of(series.largestStack()) : series.stacks();
                if (type.isSagittal() && series.stacks().size() > 1) {
                    warnings.add("series " + series.id() + " holds " + series.stacks().size()
                            + " stacks; the largest is used");
                }
                for (dev.lumbar.engine.study.Stack stack : chosen) {
                    int offset = 0;
                    for (dev.lumbar.engine.study.Stack earlier : series.stacks()) {
                        if (earlier == stack) {
                            break;
                        }
                        offset += earlier.size();
                    }
                    VolumeLoader.Volume volume;
                    try {
                        volume = loader.loadReadable(stack, warnings);
                    } catch (StudyException e) {
                        // an axial series goes on with its other stacks
                        warnings.add(chosen.size() > 1
                                ? e.getMessage() + "; the stack is not used"
                                : "series " + series.id() + " is not used: " + e.getMessage());
                        continue;
                    }
                    dev.lumbar.engine.study.Stack read = volume.stack();
                    int[] seriesSlices = new int[read.size()];
                    for (int s = 0, k = 0; s < stack.size() && k < read.size(); s++) {
                        if (stack.slices().get(s) == read.slices().get(k)) {
                            seriesSlices[k++] = offset + s;
                        }
                    }
                    stacks.add(new Stack(series.id(), type, typedBy(series), volume.voxels(),
                            geometry(read), instances(read), seriesSlices));
                }
            }
        } catch (RuntimeException e) {
            stacks.forEach(s -> s.volume().close());
            throw e;
        }
        return new StudyStacks(List.copyOf(stacks));
    }

    public List<Stack> stacks() {
        return stacks;
    }

    /** Frees the volumes. */
    @Override
    public void close() {
        stacks.forEach(s -> s.volume().close());
    }

    private static String typedBy(Series series) {
        return series.typing().rule().name().toLowerCase(Locale.ROOT) + ": "
                + series.typing().reason();
    }

    private static StackGeometry geometry(dev.lumbar.engine.study.Stack stack) {
        double[][] positions = new double[stack.size()][];
        for (int s = 0; s < positions.length; s++) {
            positions[s] = stack.slices().get(s).geometry().position().toArray();
        }
        // LIMITATION: a stack whose slices name different frames of reference is taken as
        // naming none, and its points are carried as if in any frame.
        List<String> frames = stack.slices().stream().map(Slice::frameOfReference).distinct()
                .toList();
        String frame = frames.size() == 1 ? frames.getFirst() : null;
        return new StackGeometry(positions, stack.rowCosine().toArray(),
                stack.columnCosine().toArray(), stack.rowSpacing(), stack.columnSpacing(),
                stack.geometryKnown(), frame);
    }

    private static int[] instances(dev.lumbar.engine.study.Stack stack) {
        return stack.slices().stream().mapToInt(Slice::instanceNumber).toArray();
    }
}
