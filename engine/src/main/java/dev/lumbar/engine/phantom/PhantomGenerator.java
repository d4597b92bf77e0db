package dev.lumbar.engine.phantom;

import dev.lumbar.engine.study.SeriesType;
import dev.lumbar.engine.study.SliceGeometry;
import dev.lumbar.engine.study.Vec3;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Makes a synthetic lumbar study with the geometry of a real protocol: a sagittal T1 and a
 * sagittal T2 stack covering T12 to the sacrum, and an axial T2 series made of one short stack per
 * disc, each tilted to lie in the disc plane. Every pixel is the tissue found at its world point
 * in one {@link SpineModel}, so the three series agree with each other and with the landmarks.
 *
 * <p>Geometry is rounded before rendering (positions to 0.1 µm, cosines to 1e-6) to exactly the
 * values a decimal string can carry, so a reader gets back the very doubles the generator used.
 */
public final class PhantomGenerator {

    // LIMITATION: the anatomy is healthy and piecewise constant, and each pixel samples one
    // point (no slice thickness, no partial volume): the phantom checks geometry and plumbing,
    // not grading accuracy, and carries no severity labels.

    private static final int SAGITTAL_SIZE = 256;
    private static final int AXIAL_SIZE = 192;
    private static final int AXIAL_SLICES_PER_DISC = 4;
    private static final double AXIAL_SPACING = 4.0;
    private static final double NOISE_SIGMA = 12;
    private static final int MAX_STORED = 4095;

    private PhantomGenerator() {}

    public static PhantomStudy generate(PhantomOptions options) {
        SplittableRandom random = new SplittableRandom(options.seed());
        String studyId = options.studyId() != null ? options.studyId()
                : Long.toString(random.nextLong(10_000_000L, 4_300_000_000L));
        Vec3 anchor = new Vec3(round(random.nextDouble(-4, 4), 1e-1),
                round(random.nextDouble(10, 30), 1e-1), round(random.nextDouble(-60, -20), 1e-1));
        SpineModel spine = SpineModel.create(anchor, random.split());

        List<PhantomSeries> series = new ArrayList<>();
        series.add(sagittal(spine, options, random, SeriesType.SAG_T1, 1, "SAG T1 TSE",
                15, 3.6, 0.68, 580, 11, false));
        series.add(sagittal(spine, options, random, SeriesType.SAG_T2, 2, "SAG T2 TSE",
                17, 3.3, 0.64, 3600, 102, true));
        series.add(axial(spine, options, random, 3));
        return new PhantomStudy(studyId, options, List.copyOf(series), spine.landmarks());
    }

    private static PhantomSeries sagittal(SpineModel spine, PhantomOptions options,
            SplittableRandom random, SeriesType type, int seriesNumber, String description,
            int slices, double spacing, double pixel, double tr, double te, boolean descending) {
        String seriesId = Long.toString(random.nextLong(100_000_000L, 4_300_000_000L));
        double yaw = Math.toRadians(random.nextDouble(-3, 3));
        Vec3 rowCosine = roundCosine(new Vec3(Math.sin(yaw), Math.cos(yaw), 0));
        Vec3 columnCosine = new Vec3(0, 0, -1);
        Vec3 normal = rowCosine.cross(columnCosine).normalized();
        List<SpineModel.Segment> discs = spine.levelDiscs();
        Vec3 middle = discs.get(0).center().plus(discs.get(discs.size() - 1).center()).times(0.5);
        Vec3 center = middle.plus(new Vec3(random.nextDouble(-1.5, 1.5), 8, -6));

        List<PhantomSlice> out = new ArrayList<>();
        for (int k = 0; k < slices; k++) {
            int step = descending ? slices - 1 - k : k;
            Vec3 sliceCenter = center.plus(normal.times((step - (slices - 1) / 2.0) * spacing));
            SliceGeometry geometry = frame(sliceCenter, rowCosine, columnCosine, pixel,
                    SAGITTAL_SIZE);
            out.add(new PhantomSlice(k + 1, 0, geometry,
                    render(spine, geometry, type != SeriesType.SAG_T1, options,
                            random.split())));
        }
        return new PhantomSeries(seriesId, seriesNumber, type, description, tr, te, 3.0, spacing,
                List.copyOf(out));
    }

    private static PhantomSeries axial(SpineModel spine, PhantomOptions options,
            SplittableRandom random, int seriesNumber) {
        String seriesId = Long.toString(random.nextLong(100_000_000L, 4_300_000_000L));
        double pixel = 0.74;
        List<PhantomSlice> out = new ArrayList<>();
        List<SpineModel.Segment> discs = spine.levelDiscs();
        for (int d = 0; d < discs.size(); d++) {
            SpineModel.Segment disc = discs.get(d);

            // the stack lies in the disc plane: rows run left to right, columns front to back
            Vec3 rowCosine = new Vec3(1, 0, 0);
            Vec3 columnCosine = roundCosine(disc.anterior().times(-1));
            Vec3 normal = rowCosine.cross(columnCosine).normalized();
            Vec3 center = disc.center().plus(columnCosine.times(16));
            for (int k = 0; k < AXIAL_SLICES_PER_DISC; k++) {
                // acquired from superior to inferior, i.e. against the normal
                double offset = ((AXIAL_SLICES_PER_DISC - 1) / 2.0 - k) * AXIAL_SPACING;
                SliceGeometry geometry = frame(center.plus(normal.times(offset)), rowCosine,
                        columnCosine, pixel, AXIAL_SIZE);
                out.add(new PhantomSlice(out.size() + 1, d, geometry,
                        render(spine, geometry, true, options, random.split())));
            }
        }
        return new PhantomSeries(seriesId, seriesNumber, SeriesType.AX_T2, "AX T2 FSE", 4200, 96,
                3.5, AXIAL_SPACING, List.copyOf(out));
    }

    /** A square slice centred on {@code center}, with its geometry rounded as written. */
    private static SliceGeometry frame(Vec3 center, Vec3 rowCosine, Vec3 columnCosine,
            double pixel, int size) {
        double half = (size - 1) / 2.0 * pixel;
        Vec3 corner = center.minus(rowCosine.times(half)).minus(columnCosine.times(half));
        Vec3 position = new Vec3(round(corner.x(), 1e-4), round(corner.y(), 1e-4),
                round(corner.z(), 1e-4));
        return new SliceGeometry(position, rowCosine, columnCosine, pixel, pixel, size, size);
    }

    private static short[] render(SpineModel spine, SliceGeometry geometry, boolean t2,
            PhantomOptions options, SplittableRandom noise) {
        int rows = geometry.rows();
        int columns = geometry.columns();
        short[] stored = new short[rows * columns];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                Tissue tissue = spine.tissueAt(geometry.pixelToWorld(r, c));
                double value = tissue.signal(t2);
                if (tissue != Tissue.AIR) {
                    value += NOISE_SIGMA * gaussian(noise);
                }
                double s = Math.rint((value - options.rescaleIntercept()) / options.rescaleSlope());
                stored[r * columns + c] = (short) Math.clamp((long) s, 0, MAX_STORED);
            }
        }
        return stored;
    }

    private static double gaussian(SplittableRandom random) {
        // Box-Muller; SplittableRandom has no nextGaussian of its own state
        double u = 1 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static Vec3 roundCosine(Vec3 v) {
        return new Vec3(round(v.x(), 1e-6), round(v.y(), 1e-6), round(v.z(), 1e-6));
    }

    private static double round(double v, double quantum) {
        double r = Math.rint(v / quantum) * quantum;
        // make the double the one its shortest decimal text parses to
        return Double.parseDouble(String.format(java.util.Locale.ROOT, "%.6f", r)) + 0.0;
    }
}
