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
 */
public record StackGeometry(double[][] positions, double[] rowCosine, double[] columnCosine,
        double rowSpacing, double columnSpacing) {

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
