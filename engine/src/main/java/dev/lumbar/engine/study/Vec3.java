package dev.lumbar.engine.study;

/** A point or direction in patient (world) coordinates, millimetres, DICOM LPS axes. */
public record Vec3(double x, double y, double z) {

    public static final Vec3 ZERO = new Vec3(0, 0, 0);

    /** The vector held in {@code values[offset..offset+2]}, e.g. half of an orientation tag. */
    public static Vec3 of(double[] values, int offset) {
        return new Vec3(values[offset], values[offset + 1], values[offset + 2]);
    }

    public Vec3 plus(Vec3 o) {
        return new Vec3(x + o.x, y + o.y, z + o.z);
    }

    public Vec3 minus(Vec3 o) {
        return new Vec3(x - o.x, y - o.y, z - o.z);
    }

    public Vec3 times(double s) {
        return new Vec3(x * s, y * s, z * s);
    }

    public double dot(Vec3 o) {
        return x * o.x + y * o.y + z * o.z;
    }

    public Vec3 cross(Vec3 o) {
        return new Vec3(y * o.z - z * o.y, z * o.x - x * o.z, x * o.y - y * o.x);
    }

    public double norm() {
        return Math.sqrt(dot(this));
    }

    public Vec3 normalized() {
        double n = norm();
        if (n == 0) {
            throw new IllegalArgumentException("cannot normalise a zero vector");
        }
        return times(1 / n);
    }

    public double distance(Vec3 o) {
        return minus(o).norm();
    }

    /** The axis this direction is closest to: 0 for x, 1 for y, 2 for z. */
    public int dominantAxis() {
        double ax = Math.abs(x);
        double ay = Math.abs(y);
        double az = Math.abs(z);
        return ax >= ay && ax >= az ? 0 : ay >= az ? 1 : 2;
    }

    public double[] toArray() {
        return new double[] {x, y, z};
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "(%.3f, %.3f, %.3f)", x, y, z);
    }
}
