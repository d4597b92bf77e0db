package dev.lumbar.engine.study;

/**
 * A plane in patient coordinates: a point on it and its unit normal. Each slice of a stack lies in
 * one; projecting a sagittal landmark onto the axial slices uses {@link #signedDistance}.
 */
public record Plane(Vec3 point, Vec3 normal) {

    public Plane {
        normal = normal.normalized();
    }

    /** Distance of {@code p} from the plane, positive on the side the normal points to (mm). */
    public double signedDistance(Vec3 p) {
        return p.minus(point).dot(normal);
    }

    /** The foot of the perpendicular from {@code p} onto the plane. */
    public Vec3 project(Vec3 p) {
        return p.minus(normal.times(signedDistance(p)));
    }
}
