package dev.lumbar.engine.pipeline;

import java.util.Arrays;

/**
 * Where the slices of one stack lie in patient space (DICOM LPS, millimetres): the position of
 * every slice's first pixel centre, the shared orientation and pixel spacing.
 *
 * <p>{@code rowCosine} is the direction in which the column index grows (image x),
 * {@code columnCosine} the direction in which the row index grows (image y);
 * {@code rowSpacing} is the distance between rows, {@code columnSpacing} between columns
 * (DICOM PixelSpacing order). Slices are ordered along {@code rowCosine × columnCosine}.
 *
 * <p>{@code located} is false where the files gave no usable position and orientation and the
 * geometry is a stand-in; {@code frameOfReference} is the slices' FrameOfReferenceUID, null
 * where they carry none or disagree. Neither is ever shown: the UID is only compared.
 */
public record StackGeometry(double[][] positions, double[] rowCosine, double[] columnCosine,
        double rowSpacing, double columnSpacing, boolean located, String frameOfReference) {

    /** A geometry read from the files, with no frame of reference named. */
    public StackGeometry(double[][] positions, double[] rowCosine, double[] columnCosine,
            double rowSpacing, double columnSpacing) {
        this(positions, rowCosine, columnCosine, rowSpacing, columnSpacing, true, null);
    }

    public StackGeometry {
        if (positions.length == 0) {
            throw new IllegalArgumentException("a stack needs at least one slice");
        }
        for (double[] p : positions) {
            if (p.length != 3) {
                throw new IllegalArgumentException("slice positions are 3-vectors");
            }
        }
        if (rowCosine.length != 3 || columnCosine.length != 3 || !(rowSpacing > 0)
                || !(columnSpacing > 0)) {
            throw new IllegalArgumentException("orientation needs two 3-vectors and positive"
                    + " spacings");
        }
        positions = Arrays.stream(positions).map(double[]::clone).toArray(double[][]::new);
        rowCosine = unit(rowCosine);
        columnCosine = unit(columnCosine);
    }

    public int slices() {
        return positions.length;
    }

    /**
     * The least distance (mm) a point may lie from a slice and still be taken as on it: half a
     * lumbar disc's height, so that a slice anywhere within the disc still cuts it.
     */
    public static final double MIN_REACH_MM = 5;

    /**
     * The most, in slice spacings: inside a stack no point lies more than half a spacing from
     * a slice, so two allow for a level a little beyond the stack's end and no more.
     */
    public static final double REACH_SPACINGS = 2;

    /**
     * The most in millimetres, whatever the spacing: half a lumbar level's height, where the
     * slice would cut the neighbouring vertebra rather than this level's disc.
     */
    public static final double MAX_REACH_MM = 20;

    /**
     * How far (mm) a point may lie from its nearest slice of this stack for that slice to be
     * the point's: {@link #REACH_SPACINGS} spacings, within {@link #MIN_REACH_MM} and
     * {@link #MAX_REACH_MM}; a stack of one slice has no spacing and reaches the least.
     */
    public double reachMm() {
        double spacing = sliceSpacing();
        if (!Double.isFinite(spacing)) {
            return MIN_REACH_MM;
        }
        return Math.clamp(REACH_SPACINGS * spacing, MIN_REACH_MM, MAX_REACH_MM);
    }

    /**
     * The median distance (mm) between neighbouring slices along the normal, over slices at
     * different positions (a series may store two images at each); NaN for one slice, or for
     * slices that all lie at one position.
     */
    public double sliceSpacing() {
        double[] normal = normal();
        double[] gaps = new double[Math.max(0, positions.length - 1)];
        for (int s = 0; s < gaps.length; s++) {
            gaps[s] = dot(minus(positions[s + 1], positions[s]), normal);
        }
        return dev.lumbar.engine.study.Stack.medianStep(gaps);
    }

    /**
     * Why points cannot be carried into or out of this stack by patient coordinates, or null
     * when they can: a stand-in geometry, or slices that all lie at one position, places no
     * point where the patient is.
     */
    public String projectionProblem() {
        if (!located) {
            return "its position and orientation are assumed, not read from its files";
        }
        if (positions.length > 1 && Double.isNaN(sliceSpacing())) {
            return "its slices share one position";
        }
        return null;
    }

    /**
     * Whether points may be carried between this stack and {@code other}: both name a frame of
     * reference and the frames differ means their coordinates are not one patient space. A
     * frame not named is taken as shared, as many exports drop FrameOfReferenceUID.
     */
    public boolean sharesFrameWith(StackGeometry other) {
        return frameOfReference == null || other.frameOfReference == null
                || frameOfReference.equals(other.frameOfReference);
    }

    /** The unit normal of the slices. */
    public double[] normal() {
        return unit(cross(rowCosine, columnCosine));
    }

    /** The world point of the pixel centre at fractional (column x, row y) of slice {@code s}. */
    public double[] pixelToWorld(int slice, double x, double y) {
        double[] p = positions[slice];
        double[] out = new double[3];
        for (int i = 0; i < 3; i++) {
            out[i] = p[i] + rowCosine[i] * x * columnSpacing + columnCosine[i] * y * rowSpacing;
        }
        return out;
    }

    /** Signed distance (mm) of {@code point} from slice {@code s}'s plane, along the normal. */
    public double distanceToSlice(int slice, double[] point) {
        return dot(minus(point, positions[slice]), normal());
    }

    /** The (column x, row y) of {@code point}'s foot on the plane of slice {@code s}. */
    public double[] worldToPixel(int slice, double[] point) {
        double[] d = minus(point, positions[slice]);
        return new double[] {dot(d, rowCosine) / columnSpacing, dot(d, columnCosine) / rowSpacing};
    }

    static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }

    static double[] minus(double[] a, double[] b) {
        return new double[] {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
    }

    static double[] cross(double[] a, double[] b) {
        return new double[] {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0]};
    }

    static double[] unit(double[] v) {
        double n = Math.sqrt(dot(v, v));
        if (!(n > 0)) {
            throw new IllegalArgumentException("orientation vector has no length");
        }
        return new double[] {v[0] / n, v[1] / n, v[2] / n};
    }
}
