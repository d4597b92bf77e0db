package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.study.Series;
import dev.lumbar.engine.study.Slice;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyException;
import dev.lumbar.engine.study.VolumeLoader;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a scanned {@link Study} into the stacks the pipeline reads, decoding their volumes.
 * A sagittal series gives its largest stack; an axial series gives every stack (axial blocks
 * at several discs are separate stacks). A series that cannot be typed, or whose pixels cannot
 * be decoded, or whose images are too small or blank to show a spine, is left out with a
 * warning: the study goes on without that view. A slice that cannot be decoded is left out alone
 * while most of its stack can be. Of several sagittal series of one type the most usable is kept.
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
                // stack name -> why its images cannot be used; said once for the series when
                // every stack of it has the same problem (an axial series of many blocks)
                Map<String, String> unusableStacks = new LinkedHashMap<>();
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
                    String unusable = unusableImages(volume.voxels());
                    if (unusable != null) {
                        volume.close();
                        unusableStacks.put(stack.name(), unusable);
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
                if (unusableStacks.size() == chosen.size()
                        && new HashSet<>(unusableStacks.values()).size() == 1) {
                    warnings.add("series " + series.id() + " is not used: "
                            + unusableStacks.values().iterator().next() + (chosen.size() > 1
                            ? " (all " + chosen.size() + " of its stacks)" : ""));
                } else {
                    unusableStacks.forEach((stack, why) -> warnings.add(stack + ": " + why
                            + "; the stack is not used"));
                }
            }
        } catch (RuntimeException e) {
            stacks.forEach(s -> s.volume().close());
            throw e;
        }
        List<Stack> used = mostUsableSagittal(stacks, warnings);
        warnIfSidesNotApart(used, warnings);
        return new StudyStacks(List.copyOf(used));
    }

    /**
     * Fewer pixels a side than this and the images cannot show a lumbar spine: L1 to S1 spans
     * some 180 mm, so at 31 pixels a disc (about 10 mm high) is under two pixels and the levels
     * cannot be told apart, and the models' resample would only blow up a few blocks of grey.
     * Real lumbar series are 256 to 1024 pixels a side; downsampled copies (Kaggle's own PNGs are
     * no smaller than 256) stay well above it.
     */
    static final int MIN_IMAGE_SIDE = 32;

    /**
     * Fewer sagittal slices than this and the foramina of both sides cannot lie on slices of
     * their own: the foramina lie some 15 to 25 mm either side of the canal, so a series needs a
     * slice through the canal and at least one on each side of it.
     */
    static final int MIN_SLICES_FOR_SIDES = 3;

    /**
     * Why the decoded images of a stack {@code [slices, rows, cols]} cannot hold anatomy, or
     * null: images too small for a spine, or every pixel of every slice the same value (a blank
     * or saturated series, which the models would grade as if it were an image).
     */
    // LIMITATION: only these two are checked. A series with some blank slices among good ones,
    // images of noise, or images of another body part is used as it is.
    static String unusableImages(Tensor voxels) {
        int rows = voxels.size(1);
        int columns = voxels.size(2);
        if (rows < MIN_IMAGE_SIDE || columns < MIN_IMAGE_SIDE) {
            return String.format(Locale.ROOT, "its images are %dx%d pixels, too small to hold a"
                    + " lumbar spine (at least %d a side are needed)", rows, columns,
                    MIN_IMAGE_SIDE);
        }
        float first = voxels.getFloat(0);
        for (long i = 1, n = voxels.numel(); i < n; i++) {
            if (voxels.getFloat(i) != first) {
                return null;
            }
        }
        return "every pixel of its images has the value " + first + ", so they show nothing";
    }

    /**
     * Of several sagittal stacks of one type only one is localised; this keeps the most usable
     * and leaves the others out with a warning that names them. Usable means, in order: the
     * larger shorter image side (it bounds how finely discs and foramina are drawn), then more
     * slices read (more of the spine's width, both foramina), then the series met first. Stacks
     * that cannot be read, are too small or blank never get here. Axial stacks are all kept:
     * they are blocks at different discs.
     */
    private static List<Stack> mostUsableSagittal(List<Stack> stacks, List<String> warnings) {
        List<Stack> used = new ArrayList<>(stacks);
        for (SeriesType type : SeriesType.values()) {
            if (!type.isSagittal()) {
                continue;
            }
            List<Stack> ofType = stacks.stream().filter(s -> s.type() == type).toList();
            if (ofType.size() < 2) {
                continue;
            }
            Stack best = ofType.stream().max(Comparator
                    .comparingInt((Stack s) -> Math.min(s.rows(), s.cols()))
                    .thenComparingInt(Stack::slices)
                    .thenComparingInt(s -> -ofType.indexOf(s))).orElseThrow();
            List<String> leftOut = new ArrayList<>();
            for (Stack s : ofType) {
                if (s != best) {
                    leftOut.add(String.format(Locale.ROOT, "series %s (%d slices of %dx%d)",
                            s.seriesId(), s.slices(), s.rows(), s.cols()));
                    used.remove(s);
                    s.volume().close();
                }
            }
            warnings.add(String.format(Locale.ROOT, "%d %s series can be read: series %s (%d"
                    + " slices of %dx%d) is used, %s; left out: %s", ofType.size(),
                    type.description(), best.seriesId(), best.slices(), best.rows(), best.cols(),
                    whyChosen(best, ofType), String.join(", ", leftOut)));
        }
        return used;
    }

    /** Which of the rules of {@link #mostUsableSagittal} chose {@code best}, in words. */
    private static String whyChosen(Stack best, List<Stack> ofType) {
        int side = Math.min(best.rows(), best.cols());
        List<Stack> asLarge = ofType.stream()
                .filter(s -> s != best && Math.min(s.rows(), s.cols()) == side).toList();
        if (asLarge.isEmpty()) {
            return "as it has the largest images";
        }
        if (asLarge.stream().allMatch(s -> s.slices() < best.slices())) {
            return "as it has the most slices of those with the largest images";
        }
        return "as the first met of those with the largest images and the most slices";
    }

    /**
     * Warns where the sagittal T1 series, on which the foramina are located, has too few
     * slices for left and right to lie on different ones: both sides are then graded from the
     * same images.
     */
    // LIMITATION: a sagittal T2 series of one slice is read as if that slice passed through
    // the canal; nothing checks that it does.
    private static void warnIfSidesNotApart(List<Stack> stacks, List<String> warnings) {
        stacks.stream().filter(s -> s.type() == SeriesType.SAG_T1
                        && s.slices() < MIN_SLICES_FOR_SIDES)
                .forEach(s -> warnings.add(String.format(Locale.ROOT, "series %s (%s) has %d"
                        + " slice(s), fewer than the %d needed to tell left from right: the left"
                        + " and right neural foraminal narrowing targets may be located and"
                        + " graded on the same slice, their sides not told apart", s.seriesId(),
                        s.type().description(), s.slices(), MIN_SLICES_FOR_SIDES)));
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
