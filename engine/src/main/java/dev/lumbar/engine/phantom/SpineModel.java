package dev.lumbar.engine.phantom;

import dev.lumbar.engine.study.Vec3;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A simple lumbar spine in patient (LPS) coordinates: vertebral bodies and discs stacked along a
 * lordotic curve in the mid-sagittal plane, the canal behind them, lateral recesses, foramina
 * with a nerve root at each disc level, posterior elements, muscle and subcutaneous fat.
 *
 * <p>Each body or disc is a segment with its own frame: {@code axis} points superior along the
 * spine, {@code anterior} is perpendicular to it in the sagittal plane. A point is classified in
 * the frame of the segment it falls into, so the anatomy bends with the spine. Dimensions are in
 * millimetres and loosely follow an adult lumbar spine.
 */
final class SpineModel {

    /** Disc levels from top to bottom, in the submission's naming. */
    static final List<String> LEVELS = List.of("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1");

    private static final double BODY_HALF_WIDTH = 21;
    private static final double BODY_HALF_DEPTH = 16;
    private static final double CANAL_OFFSET = 27;
    private static final double CANAL_HALF_WIDTH = 11;
    private static final double CANAL_HALF_DEPTH = 7.5;
    private static final double RECESS_LATERAL = 9;
    private static final double RECESS_OFFSET = 22;
    private static final double FORAMEN_LATERAL = 22;
    private static final double FORAMEN_OFFSET = 25;
    private static final double SKIN_HALF_WIDTH = 165;
    private static final double SKIN_HALF_DEPTH = 115;

    /** One body or disc: centre, unit superior axis, unit anterior direction, half height. */
    record Segment(String name, boolean disc, Vec3 center, Vec3 axis, Vec3 anterior,
            double halfHeight) {

        double along(Vec3 p) {
            return p.minus(center).dot(axis);
        }

        double forward(Vec3 p) {
            return p.minus(center).dot(anterior);
        }
    }

    private final List<Segment> segments;
    private final List<Segment> discs;
    private final Vec3 skinCenter;

    private SpineModel(List<Segment> segments, Vec3 skinCenter) {
        this.segments = segments;
        this.discs = segments.stream().filter(Segment::disc).toList();
        this.skinCenter = skinCenter;
    }

    /**
     * A spine whose L3/L4 disc centre lies near {@code anchor}; the tilt of each disc and the
     * heights vary a little with {@code random}.
     */
    static SpineModel create(Vec3 anchor, SplittableRandom random) {
        // disc tilt in degrees, T12/L1 .. L5/S1: positive tips the disc's superior axis forward
        double[] discTilt = {-11, -8, -3, 4, 12, 26};
        String[] bodies = {"T12", "L1", "L2", "L3", "L4", "L5", "S1"};
        List<Double> tilts = new ArrayList<>();
        List<Double> halfHeights = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int b = 0; b < bodies.length; b++) {
            double before = b == 0 ? discTilt[0] - 4 : discTilt[b - 1];
            double after = b == bodies.length - 1 ? discTilt[5] + 6 : discTilt[b];
            names.add(bodies[b]);
            tilts.add((before + after) / 2 + random.nextDouble(-1.5, 1.5));
            halfHeights.add(b == bodies.length - 1 ? 20.0 : 11.5 + random.nextDouble(-0.8, 0.8));
            if (b < discTilt.length) {
                names.add(b == 0 ? "T12/L1" : LEVELS.get(b - 1));
                tilts.add(discTilt[b] + random.nextDouble(-2, 2));
                halfHeights.add(4.5 + random.nextDouble(-0.5, 0.5));
            }
        }

        // walk down the spine from T12, each segment touching the one above it
        List<Vec3> centers = new ArrayList<>();
        Vec3 center = Vec3.ZERO;
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                center = center.minus(axis(tilts.get(i - 1)).times(halfHeights.get(i - 1)))
                        .minus(axis(tilts.get(i)).times(halfHeights.get(i)));
            }
            centers.add(center);
        }
        int l3l4 = names.indexOf("l3_l4");
        Vec3 shift = anchor.minus(centers.get(l3l4));
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            double tilt = tilts.get(i);
            boolean disc = names.get(i).contains("/") || names.get(i).contains("_");
            segments.add(new Segment(names.get(i), disc, centers.get(i).plus(shift), axis(tilt),
                    anteriorOf(tilt), halfHeights.get(i)));
        }
        Vec3 skinCenter = new Vec3(anchor.x(), anchor.y() + 20, 0);
        return new SpineModel(List.copyOf(segments), skinCenter);
    }

    /** The disc segments L1/L2 .. L5/S1, in {@link #LEVELS} order. */
    List<Segment> levelDiscs() {
        return discs.subList(1, discs.size());
    }

    /** The disc centre and the five targets of every level, in world coordinates. */
    List<Landmark> landmarks() {
        List<Landmark> out = new ArrayList<>();
        List<Segment> levels = levelDiscs();
        for (int i = 0; i < levels.size(); i++) {
            Segment d = levels.get(i);
            String level = LEVELS.get(i);
            Vec3 back = d.anterior().times(-1);
            Vec3 left = new Vec3(1, 0, 0);
            out.add(new Landmark(level, Landmark.DISC_CENTER, d.center()));
            out.add(new Landmark(level, Landmark.SPINAL_CANAL,
                    d.center().plus(back.times(CANAL_OFFSET))));
            out.add(new Landmark(level, Landmark.LEFT_FORAMEN, d.center()
                    .plus(back.times(FORAMEN_OFFSET)).plus(left.times(FORAMEN_LATERAL))));
            out.add(new Landmark(level, Landmark.RIGHT_FORAMEN, d.center()
                    .plus(back.times(FORAMEN_OFFSET)).plus(left.times(-FORAMEN_LATERAL))));
            out.add(new Landmark(level, Landmark.LEFT_SUBARTICULAR, d.center()
                    .plus(back.times(RECESS_OFFSET)).plus(left.times(RECESS_LATERAL))));
            out.add(new Landmark(level, Landmark.RIGHT_SUBARTICULAR, d.center()
                    .plus(back.times(RECESS_OFFSET)).plus(left.times(-RECESS_LATERAL))));
        }
        return out;
    }

    /** The tissue at world point {@code p}. */
    Tissue tissueAt(Vec3 p) {
        double sx = (p.x() - skinCenter.x()) / SKIN_HALF_WIDTH;
        double sy = (p.y() - skinCenter.y()) / SKIN_HALF_DEPTH;
        double skin = sx * sx + sy * sy;
        if (skin > 1) {
            return Tissue.AIR;
        }

        Segment seg = segmentOf(p);
        double along = seg.along(p);
        double lateral = p.x() - seg.center().x();
        double forward = seg.forward(p);

        // foramina: fat with a nerve root in the upper part, within a few mm of each disc
        for (Segment d : discs) {
            double a = d.along(p);
            if (Math.abs(a) < 8) {
                double fx = (Math.abs(p.x() - d.center().x()) - FORAMEN_LATERAL) / 4.5;
                double fy = (-d.forward(p) - FORAMEN_OFFSET) / 6;
                double fz = a / 8;
                if (fx * fx + fy * fy + fz * fz < 1) {
                    double nx = fx * 4.5;
                    double ny = fy * 6;
                    double nz = a - 3;
                    return nx * nx + ny * ny + nz * nz < 5 ? Tissue.NERVE : Tissue.FORAMINAL_FAT;
                }
            }
        }

        // vertebral body or disc
        double bx = lateral / BODY_HALF_WIDTH;
        double by = forward / BODY_HALF_DEPTH;
        if (bx * bx + by * by < (seg.disc() ? 1.1 : 1.0)) {
            if (seg.disc()) {
                double nx = lateral / 12;
                double ny = (forward + 2) / 8;
                return nx * nx + ny * ny < 1 ? Tissue.NUCLEUS : Tissue.ANNULUS;
            }
            return Math.abs(along) > seg.halfHeight() - 1.2 ? Tissue.ENDPLATE : Tissue.MARROW;
        }

        // canal with its lateral recesses
        double cx = lateral / CANAL_HALF_WIDTH;
        double cy = (-forward - CANAL_OFFSET) / CANAL_HALF_DEPTH;
        double canal = cx * cx + cy * cy;
        double rx = (Math.abs(lateral) - RECESS_LATERAL) / 3.5;
        double ry = (-forward - RECESS_OFFSET) / 3.5;
        if (canal < 1 || rx * rx + ry * ry < 1) {
            return Tissue.CSF;
        }

        // posterior elements: a bony ring at body levels, ligament and facets at disc levels
        double px = lateral / 19;
        double py = (-forward - CANAL_OFFSET) / 15;
        if (px * px + py * py < 1 && -forward > BODY_HALF_DEPTH) {
            return seg.disc() && Math.abs(lateral) < 8 ? Tissue.LIGAMENT
                    : Tissue.POSTERIOR_ELEMENTS;
        }
        if (!seg.disc() && Math.abs(lateral) < 3.5 && -forward > CANAL_OFFSET + 8
                && -forward < CANAL_OFFSET + 42) {
            return Tissue.POSTERIOR_ELEMENTS;
        }
        return skin > 0.8 ? Tissue.SUBCUTANEOUS_FAT : Tissue.MUSCLE;
    }

    private Segment segmentOf(Vec3 p) {
        Segment best = segments.getFirst();
        double bestExcess = Double.MAX_VALUE;
        for (Segment s : segments) {
            double excess = Math.abs(s.along(p)) - s.halfHeight();
            if (excess < bestExcess) {
                bestExcess = excess;
                best = s;
            }
        }
        return best;
    }

    /** The superior axis of a segment tilted {@code degrees} forward (towards -y). */
    private static Vec3 axis(double degrees) {
        double r = Math.toRadians(degrees);
        return new Vec3(0, -Math.sin(r), Math.cos(r));
    }

    /** The anterior direction perpendicular to {@link #axis} in the sagittal plane. */
    private static Vec3 anteriorOf(double degrees) {
        double r = Math.toRadians(degrees);
        return new Vec3(0, -Math.cos(r), -Math.sin(r));
    }
}
