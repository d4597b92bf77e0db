package dev.lumbar.engine.study;

import java.util.Arrays;
import java.util.List;

/**
 * Slices of one series that share an orientation and form one contiguous block, ordered by
 * position along the normal (ascending {@code position · (rowCosine × columnCosine)}).
 *
 * <p>Voxel coordinates are {@code (slice, row, column)}, the index order of the stack's volume
 * {@code [slices, rows, columns]}. Between slices the position is interpolated linearly between
 * the two neighbouring slice positions (so uneven spacing and a sheared stack map exactly); beyond
 * the ends it is extrapolated from the end pair; a stack of one slice steps 1 mm per slice.
 * In-plane axes are the first slice's; pixel spacing is the one most slices give (the earliest
 * such slice's on a tie), as a volume has one spacing for all its slices.
 */
public final class Stack {

    private final String name;
    private final List<Slice> slices;
    private final Vec3 rowCosine;
    private final Vec3 columnCosine;
    private final Vec3 normal;
    private final double rowSpacing;
    private final double columnSpacing;
    private final double[] depths;
    private final double spacing;

    /** {@code slices} must already be in position order and share one orientation. */
    Stack(String name, List<Slice> slices) {
        if (slices.isEmpty()) {
            throw new IllegalArgumentException("a stack needs at least one slice");
        }
        this.name = name;
        this.slices = List.copyOf(slices);
        SliceGeometry first = slices.getFirst().geometry();
        this.rowCosine = first.rowCosine();
        this.columnCosine = first.columnCosine();
        this.normal = first.normal();
        SliceGeometry common = commonSpacing(slices);
        this.rowSpacing = common.rowSpacing();
        this.columnSpacing = common.columnSpacing();
        this.depths = new double[slices.size()];
        for (int i = 0; i < depths.length; i++) {
            depths[i] = slices.get(i).geometry().position().dot(normal);
        }
        this.spacing = medianGap(depths);
    }

    /** {@code <series id>/stack <n>}, e.g. for error messages and the report. */
    public String name() {
        return name;
    }

    public List<Slice> slices() {
        return slices;
    }

    public int size() {
        return slices.size();
    }

    public int rows() {
        return slices.getFirst().geometry().rows();
    }

    public int columns() {
        return slices.getFirst().geometry().columns();
    }

    public Vec3 normal() {
        return normal;
    }

    public Vec3 rowCosine() {
        return rowCosine;
    }

    public Vec3 columnCosine() {
        return columnCosine;
    }

    /** Distance between adjacent rows (PixelSpacing's first value), mm. */
    public double rowSpacing() {
        return rowSpacing;
    }

    /** Distance between adjacent columns, the step along a row (PixelSpacing's second value). */
    public double columnSpacing() {
        return columnSpacing;
    }

    /**
     * The median distance between adjacent slices along the normal (mm), over slices at
     * different positions ({@link #medianStep}); NaN for one slice or one position.
     */
    public double sliceSpacing() {
        return spacing;
    }

    /** Position of each slice along the normal (mm), ascending. */
    public double[] depths() {
        return depths.clone();
    }

    public Orientation orientation() {
        return Orientation.of(normal);
    }

    /** Whether every slice carried ImagePositionPatient and ImageOrientationPatient. */
    public boolean geometryKnown() {
        return slices.stream().allMatch(Slice::geometryKnown);
    }

    /** The plane slice {@code index} lies in. */
    public Plane plane(int index) {
        return new Plane(slices.get(index).geometry().position(), normal);
    }

    /** The slice whose plane is nearest to {@code world}. */
    public int nearestSlice(Vec3 world) {
        double depth = world.dot(normal);
        int best = 0;
        for (int i = 1; i < depths.length; i++) {
            if (Math.abs(depths[i] - depth) < Math.abs(depths[best] - depth)) {
                best = i;
            }
        }
        return best;
    }

    /** The world point (mm) of voxel {@code (slice, row, column)}; fractions interpolate. */
    public Vec3 voxelToWorld(double slice, double row, double column) {
        return origin(slice).plus(rowCosine.times(column * columnSpacing))
                .plus(columnCosine.times(row * rowSpacing));
    }

    /** The voxel {@code [slice, row, column]} (fractional) at world point {@code world}. */
    public double[] worldToVoxel(Vec3 world) {
        double slice = sliceAtDepth(world.dot(normal));
        Vec3 inPlane = world.minus(origin(slice));

        // solve inPlane = a·rowCosine + b·columnCosine exactly, even for slightly skewed cosines
        double rr = rowCosine.dot(rowCosine);
        double rc = rowCosine.dot(columnCosine);
        double cc = columnCosine.dot(columnCosine);
        double qr = inPlane.dot(rowCosine);
        double qc = inPlane.dot(columnCosine);
        double det = rr * cc - rc * rc;
        double a = (qr * cc - qc * rc) / det;
        double b = (qc * rr - qr * rc) / det;
        return new double[] {slice, b / rowSpacing, a / columnSpacing};
    }

    /** The position of the first pixel of (fractional) slice {@code s}. */
    private Vec3 origin(double s) {
        if (slices.size() == 1) {
            return slices.getFirst().geometry().position().plus(normal.times(s));
        }
        int i = (int) Math.floor(s);
        i = Math.clamp(i, 0, slices.size() - 2);
        Vec3 p0 = slices.get(i).geometry().position();
        Vec3 p1 = slices.get(i + 1).geometry().position();
        return p0.plus(p1.minus(p0).times(s - i));
    }

    /** The fractional slice index whose interpolated position lies at {@code depth}. */
    private double sliceAtDepth(double depth) {
        int n = depths.length;
        if (n == 1) {
            return depth - depths[0];
        }
        int i = 0;
        while (i < n - 2 && depth > depths[i + 1]) {
            i++;
        }
        double gap = depths[i + 1] - depths[i];
        if (gap == 0) {
            return i;
        }
        return i + (depth - depths[i]) / gap;
    }

    /** The geometry of the earliest slice whose pixel spacing most of the slices share. */
    private static SliceGeometry commonSpacing(List<Slice> slices) {
        SliceGeometry best = null;
        long bestCount = 0;
        for (Slice candidate : slices) {
            SliceGeometry g = candidate.geometry();
            long count = slices.stream().filter(s -> sameSpacing(s.geometry(), g)).count();
            if (count > bestCount) {
                best = g;
                bestCount = count;
            }
        }
        return best;
    }

    /** Whether two slices' PixelSpacing agree to a micrometre (text rounding differs less). */
    static boolean sameSpacing(SliceGeometry a, SliceGeometry b) {
        return Math.abs(a.rowSpacing() - b.rowSpacing()) <= 1e-3
                && Math.abs(a.columnSpacing() - b.columnSpacing()) <= 1e-3;
    }

    /** How many slices' pixel spacing differs from the stack's. */
    public int slicesOfOtherSpacing() {
        SliceGeometry stack = new SliceGeometry(Vec3.ZERO, rowCosine, columnCosine, rowSpacing,
                columnSpacing, rows(), columns());
        return (int) slices.stream().filter(s -> !sameSpacing(s.geometry(), stack)).count();
    }

    private static double medianGap(double[] depths) {
        double[] gaps = new double[Math.max(0, depths.length - 1)];
        for (int i = 0; i < gaps.length; i++) {
            gaps[i] = depths[i + 1] - depths[i];
        }
        return medianStep(gaps);
    }

    /**
     * The median of the gaps (mm) between neighbouring slices that lie at different positions,
     * NaN when no two do: a series that stores two images at every position (two echoes, or
     * magnitude and phase) steps through the patient by its other gaps, which a median over
     * all of them, half zeros, would hide.
     */
    public static double medianStep(double[] gaps) {
        double[] steps = Arrays.stream(gaps).map(Math::abs)
                .filter(gap -> gap >= StackSplitter.SAME_POSITION_MM).sorted().toArray();
        if (steps.length == 0) {
            return Double.NaN;
        }
        int m = steps.length / 2;
        return steps.length % 2 == 1 ? steps[m] : (steps[m - 1] + steps[m]) / 2;
    }

    @Override
    public String toString() {
        return name + " (" + slices.size() + " slices, " + orientation() + ")";
    }
}
