package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two stages on a synthetic study whose answers are known: bright marks at the five
 * levels of slice 4 of the sagittal stacks, and stand-in networks that compute their answers
 * from the images (brightest slice, brightest point per band, mean intensity as a logit).
 */
class StudyPredictorTest {

    private static final int SIZE = 64;
    private static final int SAG_SLICES = 9;
    private static final int AX_SLICES = 21;

    @TempDir
    Path folder;

    private final List<Stack> stacks = new ArrayList<>();
    private EnsembleManifest manifest;

    @BeforeEach
    void studyAndManifest() throws IOException {
        for (String card : new String[] {"slices5", "slices10", "points5", "points2", "grader"}) {
            Files.writeString(folder.resolve(card + ".model.json"), "{}");
        }
        String bag = """
                {"slices": 3, "channels": 1, "crop": {"left": 8, "right": 8, "up": 8, "down": 8},
                 "size": [16, 16]}""";
        Files.writeString(folder.resolve("test.ensemble.json"), """
                {"format": "lumbar-ensemble/1",
                 "stage1": {
                   "SAG_T2": {"slices": "slices5.model.json", "points": "points5.model.json"},
                   "SAG_T1": {"slices": "slices10.model.json", "points": "points5.model.json"},
                   "AX_T2": {"points": "points2.model.json"}},
                 "conditions": {
                   "spinal_canal_stenosis": {"temperature": 2, "members": [
                     {"model": "grader.model.json", "view": "SAG_T2", "flip_tta": true,
                      "bag": BAG}]},
                   "neural_foraminal_narrowing": {"members": [
                     {"model": "grader.model.json", "view": "SAG_T1", "bag": BAG}]},
                   "subarticular_stenosis": {"members": [
                     {"model": "grader.model.json", "view": "AX_T2", "bag": BAG}]}}}
                """.replace("BAG", bag));
        manifest = EnsembleManifest.read(folder.resolve("test.ensemble.json"));

        stacks.add(sagittal("t2", SeriesType.SAG_T2));
        stacks.add(sagittal("t1", SeriesType.SAG_T1));
        stacks.add(axial());
    }

    @AfterEach
    void freeVolumes() {
        stacks.forEach(s -> s.volume().close());
    }

    /** Marks at (x 32, y 8 + 12 l) on slice 4; slices step 3 mm along -x, 1 mm pixels. */
    private static Stack sagittal(String series, SeriesType type) {
        float[] voxels = new float[SAG_SLICES * SIZE * SIZE];
        java.util.Arrays.fill(voxels, 1f);
        for (int level = 0; level < 5; level++) {
            voxels[4 * SIZE * SIZE + (8 + 12 * level) * SIZE + 32] = 100f;
        }
        double[][] positions = new double[SAG_SLICES][];
        int[] instances = new int[SAG_SLICES];
        for (int s = 0; s < SAG_SLICES; s++) {
            positions[s] = new double[] {-12 + 3 * s, -32, 32};
            instances[s] = s + 1;
        }
        return new Stack(series, type, "test", Tensor.of(voxels, SAG_SLICES, SIZE, SIZE),
                new StackGeometry(positions, new double[] {0, 1, 0}, new double[] {0, 0, -1},
                        1, 1), instances, IntStream.range(0, SAG_SLICES).toArray());
    }

    /** Axial slices every 3 mm from z = -30; the levels sit at z = 24, 12, 0, -12, -24. */
    private static Stack axial() {
        return axial(0, 0);
    }

    /** As {@link #axial()}, every slice moved {@code dx} mm along x and {@code dz} along z. */
    private static Stack axial(double dx, double dz) {
        float[] voxels = new float[AX_SLICES * SIZE * SIZE];
        java.util.Arrays.fill(voxels, 1f);
        double[][] positions = new double[AX_SLICES][];
        int[] instances = new int[AX_SLICES];
        for (int s = 0; s < AX_SLICES; s++) {
            positions[s] = new double[] {-32 + dx, -32, -30 + 3 * s + dz};
            instances[s] = 101 + s;
            // subarticular marks: patient right at image x 20, left at image x 44
            voxels[s * SIZE * SIZE + 40 * SIZE + 20] = 50f;
            voxels[s * SIZE * SIZE + 40 * SIZE + 44] = 60f;
        }
        return new Stack("ax", SeriesType.AX_T2, "test", Tensor.of(voxels, AX_SLICES, SIZE, SIZE),
                new StackGeometry(positions, new double[] {1, 0, 0}, new double[] {0, 1, 0},
                        1, 1), instances, IntStream.range(0, AX_SLICES).toArray());
    }

    /** Stand-in networks whose answers are computed from their inputs. */
    private static final class ComputedNetworks implements Networks {
        boolean stageOneUsed;

        private static final ImageInput INPUT = new ImageInput(SIZE, SIZE, 1,
                BagGeometry.ChannelMode.REPEAT, Normalisation.window(0, 100));

        @Override
        public SliceScorer sliceScorer(Path card) {
            int targets = card.getFileName().toString().startsWith("slices10") ? 10 : 5;
            return new SliceScorer() {
                public ImageInput input() {
                    return INPUT;
                }

                public int targets() {
                    return targets;
                }

                public SlicePicks score(Tensor slices) {
                    stageOneUsed = true;
                    float[] v = slices.toFloatArray();
                    int plane = SIZE * SIZE;
                    int best = 0;
                    double bestSum = -1;
                    for (int s = 0; s < slices.size(0); s++) {
                        double sum = 0;
                        for (int p = 0; p < plane; p++) {
                            sum += v[s * plane + p];
                        }
                        if (sum > bestSum) {
                            bestSum = sum;
                            best = s;
                        }
                    }
                    int[] pick = new int[targets];
                    java.util.Arrays.fill(pick, best);
                    float[] confidence = new float[targets];
                    java.util.Arrays.fill(confidence, 0.9f);
                    return new SlicePicks(pick, confidence);
                }
            };
        }

        @Override
        public PointModel pointModel(Path card) {
            boolean axial = card.getFileName().toString().startsWith("points2");
            return new PointModel() {
                public ImageInput input() {
                    return INPUT;
                }

                public int targets() {
                    return axial ? 2 : 5;
                }

                public float[][][] locate(Tensor images) {
                    stageOneUsed = true;
                    float[] v = images.toFloatArray();
                    float[][][] out = new float[images.size(0)][targets()][];
                    for (int n = 0; n < out.length; n++) {
                        for (int t = 0; t < targets(); t++) {
                            // sagittal: band t of the rows; axial: 0 = image right half (the
                            // patient's left), 1 = image left half
                            int r0 = axial ? 0 : t * SIZE / 5;
                            int r1 = axial ? SIZE : (t + 1) * SIZE / 5;
                            int c0 = axial ? (t == 0 ? SIZE / 2 : 0) : 0;
                            int c1 = axial ? (t == 0 ? SIZE : SIZE / 2) : SIZE;
                            int bestR = r0;
                            int bestC = c0;
                            for (int r = r0; r < r1; r++) {
                                for (int c = c0; c < c1; c++) {
                                    int at = n * SIZE * SIZE + r * SIZE + c;
                                    if (v[at] > v[n * SIZE * SIZE + bestR * SIZE + bestC]) {
                                        bestR = r;
                                        bestC = c;
                                    }
                                }
                            }
                            out[n][t] = new float[] {(bestC + 0.5f) / SIZE, (bestR + 0.5f) / SIZE};
                        }
                    }
                    return out;
                }
            };
        }

        @Override
        public BagGrader grader(Path card) {
            return new BagGrader() {
                public int slices() {
                    return 3;
                }

                public int channels() {
                    return 1;
                }

                public Grades grade(Tensor bags) {
                    int t = bags.size(0);
                    int per = (int) (bags.numel() / t);
                    float[] v = bags.toFloatArray();
                    float[][] logits = new float[t][];
                    float[][] attention = new float[t][];
                    for (int i = 0; i < t; i++) {
                        double sum = 0;
                        for (int p = 0; p < per; p++) {
                            sum += v[i * per + p];
                        }
                        logits[i] = new float[] {(float) (sum / per), 0, -1};
                        attention[i] = new float[] {0.25f, 0.5f, 0.25f};
                    }
                    return new Grades(logits, attention);
                }
            };
        }

        @Override
        public String backendName() {
            return "test";
        }

        @Override
        public void close() {
        }
    }

    private StudyResult predict(List<Stack> study, List<GivenCoordinates.Point> given,
            ComputedNetworks networks) {
        return new StudyPredictor(manifest, networks, LabelPriors.uniform())
                .predict("1", study, given, List.of());
    }

    @Test
    void locatesEveryTargetAndGradesIt() {
        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertEquals(25, result.targets().size());
        for (StudyResult.TargetResult t : result.targets()) {
            assertFalse(t.fromPriors(), t.target().kaggleName());
            double sum = 0;
            for (double p : t.probabilities()) {
                assertTrue(p > 0 && p < 1);
                sum += p;
            }
            assertEquals(1, sum, 1e-9);
        }
        for (Level level : Level.ALL) {
            int l = level.ordinal();
            Location canal = result.target(new Target(Condition.SPINAL_CANAL_STENOSIS, level))
                    .location();
            assertEquals(4, canal.slice());
            assertEquals(32, canal.x(), 1e-9);
            assertEquals(8 + 12 * l, canal.y(), 1e-9);
            // the level point at z = 24 - 12 l falls on axial slice 18 - 4 l, exactly
            Location left = result.target(new Target(Condition.LEFT_SUBARTICULAR_STENOSIS,
                    level)).location();
            assertEquals(18 - 4 * l, left.slice());
            assertEquals(0, left.distanceMm(), 1e-9);
            assertEquals(44, left.x(), 1e-9);
            assertEquals(40, left.y(), 1e-9);
            Location right = result.target(new Target(Condition.RIGHT_SUBARTICULAR_STENOSIS,
                    level)).location();
            assertEquals(20, right.x(), 1e-9);
        }
        assertTrue(result.warnings().isEmpty(), result.warnings().toString());
    }

    @Test
    void withoutAnAxialSeriesSubarticularTargetsTakeThePriors() {
        StudyResult result = predict(stacks.subList(0, 2), List.of(), new ComputedNetworks());

        for (StudyResult.TargetResult t : result.targets()) {
            boolean axial = t.target().condition().seriesType() == SeriesType.AX_T2;
            assertEquals(axial, t.fromPriors(), t.target().kaggleName());
            if (axial) {
                assertEquals(1 / 3.0, t.probabilities()[0], 1e-12);
            }
        }
        assertTrue(result.warnings().stream().anyMatch(w -> w.contains("no axial T2 series")),
                result.warnings().toString());
        assertTrue(result.warnings().stream().anyMatch(w -> w.contains("label priors")));
    }

    @Test
    void anAxialSeriesFarFromTheSagittalPointsIsNotUsed() {
        // 300 mm above the levels: the nearest slice, the top one, lies over 200 mm away
        stacks.set(2, axial(0, 300)).volume().close();

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertAxialTargetsFellBack(result);
        for (Level level : Level.ALL) {
            assertTrue(result.warnings().stream().anyMatch(w -> w.startsWith(level.label()
                    + ": the nearest axial slice") && w.contains("farther than the 6.0 mm")),
                    result.warnings().toString());
        }
        assertTrue(result.warnings().contains(
                "axial slices found for 0 of 5 levels; the others' axial targets fall back"),
                result.warnings().toString());
    }

    @Test
    void aProjectedPointOutsideTheAxialImageIsNotUsed() {
        // the axial images moved 200 mm to the patient's left: the canal lies far off their edge
        stacks.set(2, axial(200, 0)).volume().close();

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertAxialTargetsFellBack(result);
        for (Level level : Level.ALL) {
            assertTrue(result.warnings().stream().anyMatch(w -> w.startsWith(level.label()
                    + ": the sagittal T2 point falls outside the axial image")),
                    result.warnings().toString());
        }
    }

    /**
     * Stack {@code index} as it is, but read as a stand-in geometry ({@code located} false),
     * with its slices all at its first one's position ({@code collapsed}), or naming
     * {@code frame} as its frame of reference. The volume is the same tensor, freed once.
     */
    private void regeometry(int index, boolean located, boolean collapsed, String frame) {
        Stack s = stacks.get(index);
        StackGeometry g = s.geometry();
        double[][] positions = g.positions();
        if (collapsed) {
            java.util.Arrays.fill(positions, positions[0]);
        }
        stacks.set(index, new Stack(s.seriesId(), s.type(), s.typedBy(), s.volume(),
                new StackGeometry(positions, g.rowCosine(), g.columnCosine(), g.rowSpacing(),
                        g.columnSpacing(), located, frame),
                s.instanceNumbers(), IntStream.range(0, s.slices()).toArray()));
    }

    @Test
    void noPointIsCarriedOutOfASagittalStackWithAssumedGeometry() {
        regeometry(0, false, false, null);

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertAxialTargetsFellBack(result);
        assertTrue(result.warnings().contains("series t2 (Sagittal T2/STIR) places no point in"
                + " patient space: its position and orientation are assumed, not read from its"
                + " files; the axial targets of L1/L2, L2/L3, L3/L4, L4/L5, L5/S1 fall back"),
                result.warnings().toString());
    }

    @Test
    void noPointIsCarriedIntoAnAxialStackWithAssumedGeometry() {
        regeometry(2, false, false, null);

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertAxialTargetsFellBack(result);
        assertTrue(result.warnings().contains("series ax (axial T2) is not used to place"
                + " points: its position and orientation are assumed, not read from its files;"
                + " the axial targets of L1/L2, L2/L3, L3/L4, L4/L5, L5/S1 fall back"),
                result.warnings().toString());
    }

    @Test
    void noPointIsCarriedOutOfAStackWhoseSlicesShareOnePosition() {
        regeometry(0, true, true, null);

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertAxialTargetsFellBack(result);
        assertTrue(result.warnings().stream().anyMatch(w -> w.startsWith("series t2 (Sagittal"
                + " T2/STIR) places no point in patient space: its slices share one position")),
                result.warnings().toString());
    }

    @Test
    void noPointIsCarriedBetweenDifferentFramesOfReference() {
        regeometry(0, true, false, "1.2.3.1");
        regeometry(2, true, false, "1.2.3.2");

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        assertAxialTargetsFellBack(result);
        assertTrue(result.warnings().stream().anyMatch(w -> w.startsWith("series ax (axial T2)"
                + " is not used to place points: its FrameOfReferenceUID differs from series"
                + " t2's") && !w.contains("1.2.3")), result.warnings().toString());
    }

    @Test
    void aFrameOfReferenceNamedOnOneSideOnlyIsTakenAsShared() {
        regeometry(2, true, false, "1.2.3.2");

        StudyResult result = predict(stacks, List.of(), new ComputedNetworks());

        for (StudyResult.TargetResult t : result.targets()) {
            assertFalse(t.fromPriors(), t.target().kaggleName());
        }
        assertTrue(result.warnings().isEmpty(), result.warnings().toString());
    }

    /** Every target graded on axial slices took the priors; every other was graded. */
    private static void assertAxialTargetsFellBack(StudyResult result) {
        for (StudyResult.TargetResult t : result.targets()) {
            boolean axial = t.target().condition().seriesType() == SeriesType.AX_T2;
            assertEquals(axial, t.fromPriors(), t.target().kaggleName());
        }
    }

    @Test
    void givenCoordinatesReplaceStageOne() {
        List<GivenCoordinates.Point> given = new ArrayList<>();
        for (Level level : Level.ALL) {
            given.add(new GivenCoordinates.Point("t2", 3, new Target(
                    Condition.SPINAL_CANAL_STENOSIS, level), 30, 10 + level.ordinal()));
            for (Condition c : List.of(Condition.LEFT_NEURAL_FORAMINAL_NARROWING,
                    Condition.RIGHT_NEURAL_FORAMINAL_NARROWING)) {
                given.add(new GivenCoordinates.Point("t1", 5, new Target(c, level), 31, 11));
            }
            for (Condition c : List.of(Condition.LEFT_SUBARTICULAR_STENOSIS,
                    Condition.RIGHT_SUBARTICULAR_STENOSIS)) {
                given.add(new GivenCoordinates.Point("ax", 110, new Target(c, level), 33, 12));
            }
        }
        ComputedNetworks networks = new ComputedNetworks();

        StudyResult result = predict(stacks, given, networks);

        assertFalse(networks.stageOneUsed, "stage-1 networks ran despite given points");
        Location canal = result.target(new Target(Condition.SPINAL_CANAL_STENOSIS,
                Level.L3_L4)).location();
        assertEquals(2, canal.slice());
        assertEquals(12, canal.y(), 1e-12);
        assertEquals("given coordinates", canal.source());
        Location sub = result.target(new Target(Condition.LEFT_SUBARTICULAR_STENOSIS,
                Level.L1_L2)).location();
        assertEquals(9, sub.slice());
        result.targets().forEach(t -> assertFalse(t.fromPriors()));
    }

    @Test
    void givenPointsOutsideTheImageNotFiniteOrConflictingAreRefusedPerRow() {
        Target l1 = new Target(Condition.SPINAL_CANAL_STENOSIS, Level.L1_L2);
        Target l2 = new Target(Condition.SPINAL_CANAL_STENOSIS, Level.L2_L3);
        Target l3 = new Target(Condition.SPINAL_CANAL_STENOSIS, Level.L3_L4);
        List<GivenCoordinates.Point> given = List.of(
                new GivenCoordinates.Point("t2", 3, l1, -50000, 1e30, "c.csv: line 2"),
                new GivenCoordinates.Point("t2", 3, l2, Double.NaN, 20, "c.csv: line 3"),
                new GivenCoordinates.Point("t2", 3, l3, 30, 12, "c.csv: line 4"),
                new GivenCoordinates.Point("t2", 5, l3, 40, 40, "c.csv: line 5"),
                new GivenCoordinates.Point("t2", 3, l3, 30, 12, "c.csv: line 6"),
                // on the near edge of the image: kept
                new GivenCoordinates.Point("t2", 3, new Target(Condition.SPINAL_CANAL_STENOSIS,
                        Level.L4_L5), -0.5, 44, "c.csv: line 7"));
        ComputedNetworks networks = new ComputedNetworks();

        StudyResult result = predict(stacks, given, networks);

        List<String> warnings = result.warnings();
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("c.csv: line 2")
                && w.contains("outside")), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("c.csv: line 3")
                && w.contains("not finite")), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("c.csv: line 5")
                && w.contains("disagrees with c.csv: line 4")), warnings.toString());
        assertFalse(warnings.stream().anyMatch(w -> w.contains("line 6") || w.contains("line 7")),
                warnings.toString());
        // refused targets fall back to stage 1; the first of the conflicting rows wins
        assertTrue(networks.stageOneUsed);
        assertEquals("slice scorer and point model", result.target(l1).location().source());
        assertEquals("slice scorer and point model", result.target(l2).location().source());
        Location kept = result.target(l3).location();
        assertEquals("given coordinates", kept.source());
        assertEquals(12, kept.y(), 1e-12);
        assertEquals(2, kept.slice());
        assertEquals(-0.5, result.target(new Target(Condition.SPINAL_CANAL_STENOSIS,
                Level.L4_L5)).location().x(), 1e-12);
        for (Level level : Level.ALL) {
            Location axial = result.target(new Target(Condition.LEFT_SUBARTICULAR_STENOSIS,
                    level)).location();
            assertTrue(axial.distanceMm() >= 0 && axial.distanceMm() < 100, level + " " + axial);
        }
    }

    /**
     * A point is inside its image when it lies within [-0.5, size - 0.5) on both axes, pixel
     * centres at whole numbers; a little beyond an edge, negative or not, is outside.
     */
    @Test
    void givenPointsJustOutsideTheImageAreRefused() {
        List<GivenCoordinates.Point> given = new ArrayList<>();
        double[][] outside = {{-5, 20}, {20, -0.6}, {SIZE - 0.5, 20}, {20, SIZE + 1}};
        for (int i = 0; i < outside.length; i++) {
            given.add(new GivenCoordinates.Point("t2", 3, new Target(
                    Condition.SPINAL_CANAL_STENOSIS, Level.ALL.get(i)), outside[i][0],
                    outside[i][1], "c.csv: line " + (i + 2)));
        }
        given.add(new GivenCoordinates.Point("t2", 3, new Target(
                Condition.SPINAL_CANAL_STENOSIS, Level.L5_S1), SIZE - 0.51, 0,
                "c.csv: line 6"));

        StudyResult result = predict(stacks, given, new ComputedNetworks());

        List<String> warnings = result.warnings();
        for (int line = 2; line <= 5; line++) {
            int l = line;
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("c.csv: line " + l + ":")
                    && w.contains("lies outside its 64 x 64 image")), warnings.toString());
        }
        assertFalse(warnings.stream().anyMatch(w -> w.contains("line 6")), warnings.toString());
        assertEquals("given coordinates", result.target(new Target(
                Condition.SPINAL_CANAL_STENOSIS, Level.L5_S1)).location().source());
    }

    /**
     * A row naming a series of another type than its condition is located on is refused: a
     * subarticular point on a sagittal slice would be read by the axial models as if axial.
     */
    @Test
    void givenPointsOnASeriesOfTheWrongTypeAreRefused() {
        Target subarticular = new Target(Condition.LEFT_SUBARTICULAR_STENOSIS, Level.L1_L2);
        Target foramen = new Target(Condition.RIGHT_NEURAL_FORAMINAL_NARROWING, Level.L2_L3);
        Target canalOnT1 = new Target(Condition.SPINAL_CANAL_STENOSIS, Level.L3_L4);
        Target canalOnAxial = new Target(Condition.SPINAL_CANAL_STENOSIS, Level.L4_L5);
        List<GivenCoordinates.Point> given = List.of(
                new GivenCoordinates.Point("t2", 3, subarticular, 30, 12, "c.csv: line 2"),
                new GivenCoordinates.Point("t2", 3, foramen, 30, 12, "c.csv: line 3"),
                new GivenCoordinates.Point("t1", 5, canalOnT1, 30, 12, "c.csv: line 4"),
                new GivenCoordinates.Point("ax", 110, canalOnAxial, 32, 40, "c.csv: line 5"));

        StudyResult result = predict(stacks, given, new ComputedNetworks());

        List<String> warnings = result.warnings();
        assertTrue(warnings.contains("c.csv: line 2: given point for " + subarticular
                + " names series t2, a Sagittal T2/STIR series, but Left Subarticular"
                + " Stenosis is located on the Axial T2 series; ignored"), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("c.csv: line 3: ")
                && w.contains("is located on the Sagittal T1 series; ignored")),
                warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("c.csv: line 4: ")
                && w.contains("is located on the Sagittal T2/STIR series; ignored")),
                warnings.toString());
        // the canal's point on its axial slice is what the axial members read
        assertFalse(warnings.stream().anyMatch(w -> w.contains("line 5")), warnings.toString());
        for (Target refused : List.of(subarticular, foramen, canalOnT1)) {
            assertFalse(result.target(refused).location().source().equals("given coordinates"),
                    refused.toString());
        }
    }

    /** An axial series whose blocks each number their slices from the same instance on. */
    @Test
    void aGivenPointOnAnInstanceTwoStacksOfItsSeriesHoldIsRefused() {
        Stack second = axial(0, 60);
        stacks.add(second);
        Target subarticular = new Target(Condition.LEFT_SUBARTICULAR_STENOSIS, Level.L2_L3);
        List<GivenCoordinates.Point> given = List.of(
                new GivenCoordinates.Point("ax", 104, subarticular, 30, 12, "c.csv: line 2"));

        StudyResult result = predict(stacks, given, new ComputedNetworks());

        assertTrue(result.warnings().contains("c.csv: line 2: given point for " + subarticular
                + " names series ax instance 104, which 2 of the series' slices carry; ignored"),
                result.warnings().toString());
        assertFalse(result.target(subarticular).location().source().equals("given coordinates"));
    }

    @Test
    void membersAverageLogitsWithWeightsThenTemperature() {
        List<StudyResult.MemberGrade> grades = List.of(
                new StudyResult.MemberGrade("a", SeriesType.SAG_T2, 1, null, new int[0],
                        new float[] {2, 0, 0}, null),
                new StudyResult.MemberGrade("b", SeriesType.AX_T2, 3, null, new int[0],
                        new float[] {-2, 0, 4}, null));
        double[] p = EnsembleGrader.combine(grades, 2);
        // mean logits (-1, 0, 3) / 2 = (-0.5, 0, 1.5)
        double z = Math.exp(-0.5) + 1 + Math.exp(1.5);
        assertEquals(Math.exp(-0.5) / z, p[0], 1e-12);
        assertEquals(1 / z, p[1], 1e-12);
        assertEquals(Math.exp(1.5) / z, p[2], 1e-12);
    }

    @Test
    void flippedBagsAreMirroredAlongTheirWidth() {
        try (Tensor bags = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 1, 1, 1, 2, 3);
                Tensor flipped = EnsembleGrader.flipLeftRight(bags)) {
            assertEquals(List.of(3f, 2f, 1f, 6f, 5f, 4f), boxed(flipped.toFloatArray()));
        }
    }

    private static List<Float> boxed(float[] values) {
        List<Float> out = new ArrayList<>();
        for (float v : values) {
            out.add(v);
        }
        return out;
    }
}
