package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.phantom.Landmark;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomSeries;
import dev.lumbar.engine.phantom.PhantomSlice;
import dev.lumbar.engine.phantom.PhantomStudy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Voxel ↔ world transforms of a stack, and the planes of its slices. */
class StackGeometryTest {

    /** A tilted stack with uneven spacing and a sideways shift between slices. */
    private static Stack shearedStack() {
        Vec3 row = new Vec3(0.996195, 0, 0.087156).normalized();
        Vec3 column = new Vec3(0.01, 0.98, -0.2).normalized();
        Vec3 normal = row.cross(column).normalized();
        double[] depths = {0, 3.5, 7.0, 11.0, 14.0};
        List<Slice> slices = new ArrayList<>();
        for (int i = 0; i < depths.length; i++) {
            Vec3 position = new Vec3(-80, -60, 20).plus(normal.times(depths[i]))
                    .plus(row.times(0.4 * i));
            slices.add(new Slice(Path.of(i + ".dcm"), i + 1, new SliceGeometry(position, row,
                    column, 0.7, 0.55, 64, 96), true));
        }
        return new Stack("test/stack 1", slices);
    }

    @Test
    void pixelSpacingThatVariesIsWarnedAndMostSlicesSpacingUsed() {
        double[] spacings = {0.9, 0.6, 0.6, 0.75, 0.6};
        List<Slice> slices = new ArrayList<>();
        for (int i = 0; i < spacings.length; i++) {
            slices.add(new Slice(Path.of(i + ".dcm"), i + 1, new SliceGeometry(
                    new Vec3(-80 + 3 * i, -60, 20), new Vec3(0, 1, 0), new Vec3(0, 0, -1),
                    spacings[i], spacings[i], 64, 64), true));
        }
        List<String> warnings = new ArrayList<>();

        Stack stack = StackSplitter.split("s", slices, warnings).getFirst();

        assertEquals(0.6, stack.rowSpacing(), 0);
        assertEquals(0.6, stack.columnSpacing(), 0);
        assertEquals(List.of("s/stack 1: PixelSpacing differs between slices; 2 of 5 give"
                + " another than 0.600x0.600 mm, which is used for all"), warnings);
    }

    @Test
    void twoImagesAtEveryPositionStepByTheGapBetweenPositions() {
        // a dual-echo series: two images at each of five positions 4 mm apart
        List<Slice> slices = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            slices.add(new Slice(Path.of(i + ".dcm"), i + 1, new SliceGeometry(
                    new Vec3(-80, -60, 20 + 4 * (i / 2)), new Vec3(1, 0, 0), new Vec3(0, 1, 0),
                    0.6, 0.6, 64, 64), true));
        }
        List<String> warnings = new ArrayList<>();

        List<Stack> stacks = StackSplitter.split("s", slices, warnings);

        assertEquals(1, stacks.size());
        assertEquals(4, stacks.getFirst().sliceSpacing(), 1e-9);
        assertEquals(List.of("s/stack 1: 5 slice(s) share a position with their neighbour"),
                warnings);

        List<Slice> renumbered = new ArrayList<>();
        for (Slice slice : slices) {
            renumbered.add(new Slice(slice.file(), 1 + slice.instanceNumber() / 2,
                    slice.geometry(), true));
        }
        List<String> repeated = new ArrayList<>();
        StackSplitter.split("s", renumbered, repeated);
        assertTrue(repeated.contains("s/stack 1: 4 slice(s) repeat another's InstanceNumber;"
                + " given points naming those are refused"), repeated.toString());
        assertTrue(Double.isNaN(Stack.medianStep(new double[] {0, 0.001, -0.002})),
                "no two positions apart: no step");
        assertEquals(3, Stack.medianStep(new double[] {0, -3, 0, 3, 0, 5}), 0);
    }

    @Test
    void voxelToWorldAndBackRoundTrips() {
        Stack stack = shearedStack();
        SplittableRandom random = new SplittableRandom(1);
        for (int n = 0; n < 1000; n++) {
            double s = random.nextDouble(-1, 5);
            double r = random.nextDouble(-5, 70);
            double c = random.nextDouble(-5, 100);
            double[] back = stack.worldToVoxel(stack.voxelToWorld(s, r, c));
            assertEquals(s, back[0], 1e-9);
            assertEquals(r, back[1], 1e-9);
            assertEquals(c, back[2], 1e-9);
        }
    }

    @Test
    void integerVoxelsLieOnTheirSlicePixelCentres() {
        Stack stack = shearedStack();
        for (int i = 0; i < stack.size(); i++) {
            SliceGeometry g = stack.slices().get(i).geometry();
            Vec3 world = stack.voxelToWorld(i, 10, 20);
            assertEquals(0, world.distance(g.pixelToWorld(10, 20)), 1e-9);
            assertEquals(0, stack.plane(i).signedDistance(world), 1e-9);
            assertEquals(i, stack.nearestSlice(world.plus(stack.normal().times(0.3))));
        }
        // the step along a row is the column spacing (PixelSpacing's second value)
        Vec3 step = stack.voxelToWorld(0, 0, 1).minus(stack.voxelToWorld(0, 0, 0));
        assertEquals(0.55, step.norm(), 1e-9);
        Vec3 down = stack.voxelToWorld(0, 1, 0).minus(stack.voxelToWorld(0, 0, 0));
        assertEquals(0.7, down.norm(), 1e-9);
    }

    @Test
    void planeProjectsOntoItself() {
        Plane plane = shearedStack().plane(2);
        Vec3 p = new Vec3(3, -7, 11);
        Vec3 foot = plane.project(p);
        assertEquals(0, plane.signedDistance(foot), 1e-9);
        assertEquals(Math.abs(plane.signedDistance(p)), p.distance(foot), 1e-9);
    }

    @Test
    void phantomLandmarksMapIntoTheirStacks() {
        PhantomStudy phantom = PhantomGenerator.generate(PhantomOptions.of(13));
        PhantomSeries axial = phantom.series().get(2);
        List<Landmark> marks = phantom.landmarks();
        for (int d = 0; d < 5; d++) {
            int disc = d;
            List<Slice> slices = new ArrayList<>();
            for (PhantomSlice s : axial.slices()) {
                if (s.stack() == disc) {
                    slices.add(new Slice(Path.of(s.instanceNumber() + ".dcm"),
                            s.instanceNumber(), s.geometry(), true));
                }
            }
            slices.sort((a, b) -> Double.compare(a.geometry().depth(), b.geometry().depth()));
            Stack stack = new Stack("ax/stack " + (d + 1), slices);
            Landmark left = marks.stream().filter(m -> m.level().equals(
                    phantomLevel(disc)) && m.target().equals(Landmark.LEFT_SUBARTICULAR))
                    .findFirst().orElseThrow();
            double[] voxel = stack.worldToVoxel(left.world());
            // the disc centre sits midway through each 4-slice block
            assertEquals(1.5, voxel[0], 1e-3, stack.name());
            assertTrue(voxel[1] > 0 && voxel[1] < stack.rows() && voxel[2] > 0
                    && voxel[2] < stack.columns(), stack.name());
            Vec3 back = stack.voxelToWorld(voxel[0], voxel[1], voxel[2]);
            assertEquals(0, back.distance(left.world()), 1e-9);
        }
    }

    private static String phantomLevel(int disc) {
        return List.of("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1").get(disc);
    }
}
