package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Axial assignment on the phantom: its axial series is one oblique stack per disc, tilted into
 * the disc plane. Carried from the labelled sagittal T2 canal points, every level must land on
 * an axial slice nearest the true canal landmark, close to it.
 */
class PhantomLocalisationTest {

    @TempDir
    Path folder;

    /** Stage-1 networks must not run when every canal point is given. */
    private static final class NoNetworks implements Networks {
        public SliceScorer sliceScorer(Path card) {
            throw new AssertionError("slice scorer asked for");
        }

        public PointModel pointModel(Path card) {
            throw new AssertionError("point model asked for");
        }

        public BagGrader grader(Path card) {
            throw new AssertionError("grader asked for");
        }

        public String backendName() {
            return "none";
        }

        public void close() {
        }
    }

    @Test
    void sagittalCanalPointsProjectOntoTheTrueCanalsObliqueAxialSlice() throws Exception {
        for (long seed : new long[] {3, 11}) {
            Path root = folder.resolve("seed" + seed);
            PhantomWriter.write(PhantomGenerator.generate(
                    PhantomOptions.of(seed).withStudyId("77")), root);
            Study study = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                    .scan(root).studies().getFirst();
            List<GivenCoordinates.Point> labels = GivenCoordinates.read(
                    root.resolve(PhantomWriter.LABEL_COORDINATES_CSV)).forStudy("77");
            Map<Level, double[]> canalTruth = groundTruthCanal(root);

            List<GivenCoordinates.Point> canalOnly = labels.stream().filter(p ->
                    p.target().condition() == Condition.SPINAL_CANAL_STENOSIS).toList();
            Path manifestFile = folder.resolve("m.ensemble.json");
            EnsembleManifest manifest = EnsembleManifest.parse(manifestFile,
                    Json.parse("{\"format\": \"lumbar-ensemble/1\", \"conditions\": {}}"));
            List<String> warnings = new ArrayList<>();
            try (StudyStacks stacks = StudyStacks.load(study,
                    new VolumeLoader(DicomReader.standard()), warnings)) {
                assertTrue(stacks.stacks().stream()
                        .filter(s -> s.type() == SeriesType.AX_T2).count() >= 5);
                Localisation where = new Localiser(manifest, new NoNetworks())
                        .locate(stacks.stacks(), canalOnly, warnings);

                for (Level level : Level.ALL) {
                    Location axial = where.on(SeriesType.AX_T2,
                            new Target(Condition.SPINAL_CANAL_STENOSIS, level)).orElseThrow();
                    // the slice nearest the true canal, over every axial stack
                    double[] truth = canalTruth.get(level);
                    Stack expectedStack = null;
                    int expectedSlice = -1;
                    double nearest = Double.MAX_VALUE;
                    for (Stack stack : stacks.stacks()) {
                        for (int s = 0; stack.type() == SeriesType.AX_T2 && s < stack.slices();
                                s++) {
                            double d = Math.abs(stack.geometry().distanceToSlice(s, truth));
                            if (d < nearest) {
                                nearest = d;
                                expectedStack = stack;
                                expectedSlice = s;
                            }
                        }
                    }
                    // the phantom puts its slices 2 mm either side of the disc plane, so the
                    // canal is often equidistant from two: either is right
                    double ours = Math.abs(axial.stack().geometry()
                            .distanceToSlice(axial.slice(), truth));
                    assertTrue(axial.stack() == expectedStack && ours < nearest + 0.5,
                            "seed " + seed + " " + level + ": slice " + axial.slice() + " is "
                            + ours + " mm from the true canal, slice " + expectedSlice + " "
                            + nearest + " mm");
                    double[] foot = axial.stack().geometry().pixelToWorld(axial.slice(),
                            axial.x(), axial.y());
                    double miss = Math.sqrt(Math.pow(foot[0] - truth[0], 2)
                            + Math.pow(foot[1] - truth[1], 2) + Math.pow(foot[2] - truth[2], 2));
                    // the sagittal label lies on the nearest sagittal slice, up to half a slice
                    // (about 1.7 mm) beside the true canal; plus the axial slice's distance
                    assertTrue(miss < 2.0 + axial.distanceMm(), "seed " + seed + " " + level
                            + ": projected canal " + miss + " mm from the truth");
                }
            }
        }
    }

    /** Ground-truth canal landmarks (LPS mm) per level from the phantom's CSV. */
    private static Map<Level, double[]> groundTruthCanal(Path root) throws Exception {
        Map<Level, double[]> truth = new HashMap<>();
        for (String line : Files.readAllLines(root.resolve(PhantomWriter.GROUND_TRUTH_CSV))) {
            String[] c = line.split(",");
            if (c.length == 6 && c[2].equals("spinal_canal")) {
                truth.put(Level.fromKaggleName(c[1]).orElseThrow(), new double[] {
                        Double.parseDouble(c[3]), Double.parseDouble(c[4]),
                        Double.parseDouble(c[5])});
            }
        }
        return truth;
    }
}
