package dev.lumbar.engine.study;

import java.util.Locale;

/** The anatomical plane a stack is closest to, and how far its normal leans away from it. */
public record Orientation(AnatomicalPlane plane, double obliquityDegrees) {

    /** The three patient planes; the normal of each is the named axis (x, y, z in LPS). */
    public enum AnatomicalPlane { SAGITTAL, CORONAL, AXIAL }

    /** A stack leaning more than this is reported as oblique. */
    public static final double OBLIQUE_DEGREES = 5;

    public static Orientation of(Vec3 normal) {
        int axis = normal.dominantAxis();
        double component = Math.abs(axis == 0 ? normal.x() : axis == 1 ? normal.y() : normal.z());
        double angle = Math.toDegrees(Math.acos(Math.min(1, component / normal.norm())));
        return new Orientation(AnatomicalPlane.values()[axis], angle);
    }

    public boolean oblique() {
        return obliquityDegrees > OBLIQUE_DEGREES;
    }

    @Override
    public String toString() {
        String name = plane.name().toLowerCase(Locale.ROOT);
        return oblique() ? String.format(Locale.ROOT, "%s oblique %.0f°", name, obliquityDegrees)
                : name;
    }
}
