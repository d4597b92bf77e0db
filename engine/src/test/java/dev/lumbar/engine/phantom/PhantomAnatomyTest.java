package dev.lumbar.engine.phantom;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.study.SeriesType;
import dev.lumbar.engine.study.SliceGeometry;
import dev.lumbar.engine.study.Vec3;
import org.junit.jupiter.api.Test;

/** The phantom's tissues show the contrast of their weighting at the ground-truth targets. */
class PhantomAnatomyTest {

    private final PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(17));

    /** The stored value of the pixel nearest {@code world} in the series of {@code type}. */
    private int valueAt(SeriesType type, Vec3 world) {
        PhantomSeries series = phantom.series().stream().filter(s -> s.type() == type)
                .findFirst().orElseThrow();
        PhantomSlice best = null;
        double bestDistance = Double.MAX_VALUE;
        for (PhantomSlice s : series.slices()) {
            double d = Math.abs(s.geometry().plane().signedDistance(world));
            if (d < bestDistance) {
                bestDistance = d;
                best = s;
            }
        }
        SliceGeometry g = best.geometry();
        Vec3 offset = world.minus(g.position());
        int column = (int) Math.round(offset.dot(g.rowCosine()) / g.columnSpacing());
        int row = (int) Math.round(offset.dot(g.columnCosine()) / g.rowSpacing());
        assertTrue(row >= 0 && row < g.rows() && column >= 0 && column < g.columns(),
                type + " covers " + world);
        return best.storedAt(row, column);
    }

    @Test
    void canalIsBrightOnT2AndDarkOnT1() {
        for (Landmark l : phantom.landmarks()) {
            if (l.target().equals(Landmark.SPINAL_CANAL)) {
                int t1 = valueAt(SeriesType.SAG_T1, l.world());
                int t2 = valueAt(SeriesType.SAG_T2, l.world());
                int axial = valueAt(SeriesType.AX_T2, l.world());
                assertTrue(t2 > 1000 && axial > 1000 && t1 < 400, l.level() + ": T1 " + t1
                        + ", T2 " + t2 + ", axial " + axial);
            }
        }
    }

    @Test
    void discNucleusIsBrightOnT2AndForaminalFatOnT1() {
        for (Landmark l : phantom.landmarks()) {
            if (l.target().equals(Landmark.DISC_CENTER)) {
                int t1 = valueAt(SeriesType.SAG_T1, l.world());
                int t2 = valueAt(SeriesType.SAG_T2, l.world());
                assertTrue(t2 > 800 && t1 < 600, l.level() + ": T1 " + t1 + ", T2 " + t2);
            }
            if (l.target().endsWith("_foramen")) {
                // the landmark sits in fat, below the nerve root
                int t1 = valueAt(SeriesType.SAG_T1, l.world());
                assertTrue(t1 > 700, l.level() + " " + l.target() + ": T1 " + t1);
            }
        }
    }
}
