package dev.lumbar.engine.study;

/**
 * Where one image lies in patient space, straight from its DICOM tags.
 *
 * <p>{@code rowCosine} is the first triplet of ImageOrientationPatient: the direction in which the
 * column index grows, i.e. the step along a row (image x). {@code columnCosine} is the second
 * triplet: the direction in which the row index grows (image y). PixelSpacing is (row spacing,
 * column spacing): {@code rowSpacing} (first value) is the distance between adjacent rows, taken
 * along {@code columnCosine}; {@code columnSpacing} (second value) is the distance between
 * adjacent columns, the step along a row. Position is the centre of the first transmitted pixel.
 */
public record SliceGeometry(Vec3 position, Vec3 rowCosine, Vec3 columnCosine,
        double rowSpacing, double columnSpacing, int rows, int columns) {

    /** The unit normal {@code rowCosine × columnCosine}; slices are ordered along it. */
    public Vec3 normal() {
        return rowCosine.cross(columnCosine).normalized();
    }

    /** Position along the normal: the sort key of a slice within its stack (mm). */
    public double depth() {
        return position.dot(normal());
    }

    /** The world point (mm) of the pixel centre at fractional {@code (row, column)}. */
    public Vec3 pixelToWorld(double row, double column) {
        return position.plus(rowCosine.times(column * columnSpacing))
                .plus(columnCosine.times(row * rowSpacing));
    }

    /** The plane this slice lies in. */
    public Plane plane() {
        return new Plane(position, normal());
    }

    /** True when both cosines agree with {@code other}'s within {@code tolerance} per component. */
    public boolean sameOrientation(SliceGeometry other, double tolerance) {
        return close(rowCosine, other.rowCosine, tolerance)
                && close(columnCosine, other.columnCosine, tolerance);
    }

    private static boolean close(Vec3 a, Vec3 b, double tolerance) {
        return Math.abs(a.x() - b.x()) <= tolerance && Math.abs(a.y() - b.y()) <= tolerance
                && Math.abs(a.z() - b.z()) <= tolerance;
    }
}
