package dev.lumbar.engine.study;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Splits the slices of one series into stacks: first by orientation, then, within one
 * orientation, at gaps much wider than the usual slice spacing (axial blocks at several discs).
 * Each stack is ordered by position along its normal, never by file name or InstanceNumber;
 * stacks are listed in acquisition order (by their smallest InstanceNumber).
 */
final class StackSplitter {

    /** Cosines closer than this per component count as one orientation (about 0.6°). */
    static final double ORIENTATION_TOLERANCE = 0.01;

    /** A gap this many times the median spacing (and 2 mm wider than it) starts a new stack. */
    static final double GAP_FACTOR = 2.5;

    /** Slices this close along the normal (mm) share a position. */
    static final double SAME_POSITION_MM = 0.01;

    /** Relative deviation of a gap from the median that is reported as uneven spacing. */
    static final double UNEVEN_SPACING = 0.2;

    // spine MR: slices 0.5–10 mm apart, pixels 0.1–3 mm; anything else is worth a look
    static final double MIN_PLAUSIBLE_GAP_MM = 0.5;
    static final double MAX_PLAUSIBLE_GAP_MM = 10;
    static final double MIN_PLAUSIBLE_PIXEL_MM = 0.1;
    static final double MAX_PLAUSIBLE_PIXEL_MM = 3;

    private StackSplitter() {}

    /** The stacks of {@code slices}, named {@code <seriesId>/stack <n>}; notes go to warnings. */
    static List<Stack> split(String seriesId, List<Slice> slices, List<String> warnings) {
        return split(seriesId, slices, null, warnings);
    }

    /**
     * As {@link #split(String, List, List)}; {@code unlocatedWhy} says why slices without known
     * geometry have none (e.g. "17: ImagePositionPatient is not three finite numbers"), null
     * when the tags are simply absent.
     */
    static List<Stack> split(String seriesId, List<Slice> slices, String unlocatedWhy,
            List<String> warnings) {
        List<Slice> located = slices.stream().filter(Slice::geometryKnown).toList();
        List<Slice> unlocated = slices.stream().filter(s -> !s.geometryKnown()).toList();
        List<List<Slice>> groups = new ArrayList<>();
        for (List<Slice> sameOrientation : byOrientation(located)) {
            groups.addAll(atGaps(sortedByDepth(sameOrientation)));
        }
        if (!unlocated.isEmpty()) {
            // LIMITATION: files without ImagePositionPatient/ImageOrientationPatient are ordered
            // by InstanceNumber and given a stand-in axial geometry with 1 mm spacing; no point
            // is carried into or out of such a stack (StackGeometry.projectionProblem).
            warnings.add("series " + seriesId + ": " + unlocated.size() + " file(s) without"
                    + " usable ImagePositionPatient/ImageOrientationPatient ("
                    + (unlocatedWhy == null ? "tags absent" : unlocatedWhy)
                    + "), ordered by InstanceNumber with assumed geometry");
            List<Slice> ordered = unlocated.stream().sorted(Comparator
                    .comparingInt(Slice::instanceNumber)
                    .thenComparing(s -> s.file().getFileName().toString())).toList();
            List<Slice> placed = new ArrayList<>();
            for (Slice s : ordered) {
                SliceGeometry g = s.geometry();
                placed.add(new Slice(s.file(), s.instanceNumber(), new SliceGeometry(
                        new Vec3(0, 0, placed.size()), g.rowCosine(), g.columnCosine(),
                        g.rowSpacing(), g.columnSpacing(), g.rows(), g.columns()), false,
                        s.frameOfReference()));
            }
            groups.add(placed);
        }
        groups.sort(Comparator.comparingInt(g -> g.stream().mapToInt(Slice::instanceNumber)
                .min().orElse(0)));

        List<Stack> stacks = new ArrayList<>();
        for (List<Slice> group : groups) {
            Stack stack = new Stack(seriesId + "/stack " + (stacks.size() + 1), group);
            checkSpacing(stack, warnings);
            stacks.add(stack);
        }
        return stacks;
    }

    private static List<List<Slice>> byOrientation(List<Slice> slices) {
        List<List<Slice>> groups = new ArrayList<>();
        for (Slice s : slices) {
            List<Slice> home = null;
            for (List<Slice> g : groups) {
                if (g.getFirst().geometry().sameOrientation(s.geometry(),
                        ORIENTATION_TOLERANCE)) {
                    home = g;
                    break;
                }
            }
            if (home == null) {
                home = new ArrayList<>();
                groups.add(home);
            }
            home.add(s);
        }
        return groups;
    }

    private static List<Slice> sortedByDepth(List<Slice> slices) {
        Vec3 normal = slices.getFirst().geometry().normal();
        return slices.stream().sorted(Comparator
                .comparingDouble((Slice s) -> s.geometry().position().dot(normal))
                .thenComparingInt(Slice::instanceNumber)).toList();
    }

    private static List<List<Slice>> atGaps(List<Slice> sorted) {
        Vec3 normal = sorted.getFirst().geometry().normal();
        double[] gaps = new double[Math.max(0, sorted.size() - 1)];
        for (int i = 0; i < gaps.length; i++) {
            gaps[i] = (sorted.get(i + 1).geometry().position()
                    .minus(sorted.get(i).geometry().position())).dot(normal);
        }
        double median = Stack.medianStep(gaps);
        List<List<Slice>> blocks = new ArrayList<>();
        List<Slice> block = new ArrayList<>();
        for (int i = 0; i < sorted.size(); i++) {
            if (i > 0 && median > SAME_POSITION_MM && gaps[i - 1] > GAP_FACTOR * median
                    && gaps[i - 1] > median + 2) {
                blocks.add(block);
                block = new ArrayList<>();
            }
            block.add(sorted.get(i));
        }
        blocks.add(block);
        return blocks;
    }

    private static void checkSpacing(Stack stack, List<String> warnings) {
        double[] depths = stack.depths();
        int shared = 0;
        boolean uneven = false;
        double median = stack.sliceSpacing();
        for (int i = 1; i < depths.length; i++) {
            double gap = depths[i] - depths[i - 1];
            if (gap < SAME_POSITION_MM) {
                shared++;
            } else if (Math.abs(gap - median) > UNEVEN_SPACING * median) {
                uneven = true;
            }
        }
        if (shared > 0) {
            warnings.add(stack.name() + ": " + shared + " slice(s) share a position with their"
                    + " neighbour");
        }
        if (uneven) {
            warnings.add(stack.name() + ": uneven slice spacing (median "
                    + Millimetres.shown(median, 2) + " mm)");
        }
        if (stack.geometryKnown() && (median > MAX_PLAUSIBLE_GAP_MM
                || median > SAME_POSITION_MM && median < MIN_PLAUSIBLE_GAP_MM)) {
            warnings.add(stack.name() + ": unusual slice spacing " + Millimetres.shown(median, 2)
                    + " mm");
        }
        if (!plausiblePixel(stack.rowSpacing()) || !plausiblePixel(stack.columnSpacing())) {
            warnings.add(stack.name() + ": unusual pixel spacing "
                    + Millimetres.shown(stack.rowSpacing(), 3) + "x"
                    + Millimetres.shown(stack.columnSpacing(), 3) + " mm");
        }
        int otherSpacing = stack.slicesOfOtherSpacing();
        if (otherSpacing > 0) {
            // LIMITATION: a stack reads as one volume with one pixel spacing, so its slices of
            // another PixelSpacing are placed and cropped by the common one.
            warnings.add(stack.name() + ": PixelSpacing differs between slices; "
                    + otherSpacing + " of " + stack.size() + " give another than "
                    + Millimetres.shown(stack.rowSpacing(), 3) + "x"
                    + Millimetres.shown(stack.columnSpacing(), 3) + " mm, which is used for all");
        }
        long numbered = stack.slices().stream().filter(s -> s.instanceNumber() != 0).count();
        long distinct = stack.slices().stream().mapToInt(Slice::instanceNumber)
                .filter(n -> n != 0).distinct().count();
        if (distinct < numbered) {
            // a coordinates row names a slice by its InstanceNumber: such a row is ambiguous
            warnings.add(stack.name() + ": " + (numbered - distinct) + " slice(s) repeat"
                    + " another's InstanceNumber; given points naming those are refused");
        }
        int rows = stack.rows();
        int columns = stack.columns();
        boolean sizes = stack.slices().stream().anyMatch(s -> s.geometry().rows() != rows
                || s.geometry().columns() != columns);
        if (sizes) {
            warnings.add(stack.name() + ": slices of different image size; those unlike most"
                    + " of the stack are left out when it is read");
        }
    }

    private static boolean plausiblePixel(double mm) {
        return mm >= MIN_PLAUSIBLE_PIXEL_MM && mm <= MAX_PLAUSIBLE_PIXEL_MM;
    }
}
