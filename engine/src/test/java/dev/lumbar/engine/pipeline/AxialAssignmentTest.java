package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AxialAssignmentTest {

    /** Sagittal: image x runs posterior, image y inferior, slices step 3 mm to the right. */
    private static StackGeometry sagittal() {
        double[][] positions = new double[7][];
        for (int s = 0; s < positions.length; s++) {
            positions[s] = new double[] {-10 + 3 * s, -100, 100};
        }
        return new StackGeometry(positions, new double[] {0, 1, 0}, new double[] {0, 0, -1},
                1, 1);
    }

    /** Straight axial slices every 4 mm at z = z0 … */
    private static StackGeometry axial(double z0, int slices) {
        double[][] positions = new double[slices][];
        for (int s = 0; s < slices; s++) {
            positions[s] = new double[] {-100, -150, z0 + 4 * s};
        }
        return new StackGeometry(positions, new double[] {1, 0, 0}, new double[] {0, 1, 0},
                0.8, 0.8);
    }

    /**
     * Axial slices tilted 20° about the patient's left-right axis, 3 mm apart, 0.5 mm pixels,
     * built so that slice 7's plane passes 1 mm from {@code point} with its foot at pixel
     * (x 60, y 80).
     */
    private static StackGeometry obliqueThrough(double[] point) {
        double t = Math.toRadians(20);
        double[] normal = {0, Math.sin(t), Math.cos(t)};
        double[] row = {1, 0, 0};
        double[] column = {0, Math.cos(t), -Math.sin(t)};
        double[][] positions = new double[12][];
        for (int s = 0; s < positions.length; s++) {
            positions[s] = new double[3];
            for (int i = 0; i < 3; i++) {
                double base = point[i] - 20 * normal[i] - 30 * row[i] - 40 * column[i];
                positions[s][i] = base + 3 * s * normal[i];
            }
        }
        return new StackGeometry(positions, row, column, 0.5, 0.5);
    }

    @Test
    void sagittalPixelLiesWhereTheGeometrySays() {
        // slice 3 sits at x = -1; 50 pixels posterior, 80 inferior of the first pixel
        assertArrayEquals(new double[] {-1, -50, 20}, sagittal().pixelToWorld(3, 50, 80), 1e-12);
    }

    @Test
    void straightStackPicksTheSliceThroughThePoint() {
        double[] point = sagittal().pixelToWorld(3, 50, 80);

        AxialAssignment.Assignment a =
                AxialAssignment.nearest(point, List.of(axial(0, 11))).orElseThrow();

        assertEquals(0, a.stack());
        assertEquals(5, a.slice());
        assertEquals(0, a.distanceMm(), 1e-9);
        assertEquals((-1 + 100) / 0.8, a.x(), 1e-9);
        assertEquals((-50 + 150) / 0.8, a.y(), 1e-9);
    }

    @Test
    void obliqueStackNearerThanAStraightOneWins() {
        double[] point = sagittal().pixelToWorld(3, 50, 80);
        // the straight stack ends at z = 14: its nearest slice is 6 mm away
        List<StackGeometry> stacks = List.of(axial(-26, 11), obliqueThrough(point));

        AxialAssignment.Assignment a = AxialAssignment.nearest(point, stacks).orElseThrow();

        assertEquals(1, a.stack());
        assertEquals(7, a.slice());
        assertEquals(1.0, a.distanceMm(), 1e-9);
        assertEquals(60, a.x(), 1e-9);
        assertEquals(80, a.y(), 1e-9);
    }

    @Test
    void aPointNotFiniteOrFarFromEverySliceHasNoAssignment() {
        List<StackGeometry> stacks = List.of(axial(0, 11));
        double[] overflowing = sagittal().pixelToWorld(3, -50000, 1e30);
        assertTrue(AxialAssignment.nearest(overflowing, stacks).isEmpty());
        assertTrue(AxialAssignment.nearest(new double[] {0, Double.NaN, 0}, stacks).isEmpty());
        assertTrue(AxialAssignment.nearest(new double[] {Double.POSITIVE_INFINITY, 0, 0},
                stacks).isEmpty());
        // a finite point two metres above the stack is no slice's point either
        assertTrue(AxialAssignment.nearest(new double[] {0, 0, 2000}, stacks).isEmpty());
    }

    @Test
    void aStackReachesTwoSliceSpacingsWithinAFloorAndACeiling() {
        assertEquals(8, axial(0, 11).reachMm(), 1e-9);
        // 1 mm slices still reach half a disc's height; 12 mm slices no farther than 20 mm
        StackGeometry thin = new StackGeometry(new double[][] {{0, 0, 0}, {0, 0, 1}},
                new double[] {1, 0, 0}, new double[] {0, 1, 0}, 1, 1);
        StackGeometry thick = new StackGeometry(new double[][] {{0, 0, 0}, {0, 0, 12}},
                new double[] {1, 0, 0}, new double[] {0, 1, 0}, 1, 1);
        assertEquals(StackGeometry.MIN_REACH_MM, thin.reachMm(), 1e-9);
        assertEquals(StackGeometry.MAX_REACH_MM, thick.reachMm(), 1e-9);
        assertEquals(StackGeometry.MIN_REACH_MM, axial(0, 1).reachMm(), 1e-9);
    }

    @Test
    void aStackOfTwoImagesAtEveryPositionIsProjectedIntoAndReachesByItsStep() {
        StackGeometry dualEcho = new StackGeometry(new double[][] {{0, 0, 0}, {0, 0, 0},
                {0, 0, 4}, {0, 0, 4}, {0, 0, 8}, {0, 0, 8}}, new double[] {1, 0, 0},
                new double[] {0, 1, 0}, 1, 1);
        assertEquals(null, dualEcho.projectionProblem());
        assertEquals(4, dualEcho.sliceSpacing(), 1e-9);
        assertEquals(8, dualEcho.reachMm(), 1e-9);

        StackGeometry onePlace = new StackGeometry(new double[][] {{0, 0, 2}, {0, 0, 2},
                {0, 0, 2}}, new double[] {1, 0, 0}, new double[] {0, 1, 0}, 1, 1);
        assertEquals("its slices share one position", onePlace.projectionProblem());
    }

    @Test
    void noAxialStackMeansNoAssignment() {
        assertTrue(AxialAssignment.nearest(new double[] {0, 0, 0}, List.of()).isEmpty());
    }
}
