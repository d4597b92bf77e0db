package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled demo ensemble loads from its cards and every network answers in shape. */
class DemoEnsembleTest {

    private static final Path DEMO = Path.of("..", "weights", "demo", "demo.ensemble.json");

    private static Tensor random(long seed, long... shape) {
        Random random = new Random(seed);
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat();
        }
        return Tensor.of(values, shape);
    }

    @Test
    void aBagThatDisagreesWithItsCardFailsAtLoad(@TempDir Path folder) throws IOException {
        Path card = DEMO.toAbsolutePath().getParent()
                .resolve("stage2/spinal_convnext_mil.model.json");
        Path file = folder.resolve("bad.ensemble.json");
        Files.writeString(file, """
                {"format": "lumbar-ensemble/1", "conditions": {"spinal_canal_stenosis": {
                  "members": [{"name": "four", "model": "CARD", "view": "SAG_T2",
                    "bag": {"slices": 4, "channels": 3, "size": [48, 48],
                            "crop": {"left": 8, "right": 8, "up": 8, "down": 8}}}]}}}
                """.replace("CARD", card.toString().replace("\\", "/")));
        EnsembleManifest manifest = EnsembleManifest.read(file);
        try (CpuBackend backend = new CpuBackend(1);
                CardNetworks networks = new CardNetworks(backend)) {
            StudyPredictor predictor = new StudyPredictor(manifest, networks,
                    LabelPriors.uniform());
            ManifestException e = assertThrows(ManifestException.class, predictor::loadAll);
            assertTrue(e.getMessage().contains("member four"), e.getMessage());
            assertTrue(e.getMessage().contains("5 x 3"), e.getMessage());
        }
    }

    @Test
    void aStage1CardInTheWrongSlotFailsAtLoadNamingManifestCardAndExpectation(
            @TempDir Path folder) throws IOException {
        Path stage1 = DEMO.toAbsolutePath().getParent().resolve("stage1");
        String[][] cases = {
            // a 2-target axial point model where the 5 sagittal levels are expected
            {"ax_t2_points", "points", "has 2 targets; expected a keypoint head with 5 targets"},
            // a slice scorer where a point model is expected
            {"sag_t2_slices", "points", "cannot serve"},
        };
        for (String[] c : cases) {
            Path card = stage1.resolve(c[0] + ".model.json");
            Path file = folder.resolve(c[0] + ".ensemble.json");
            Files.writeString(file, """
                    {"format": "lumbar-ensemble/1", "stage1": {"SAG_T2": {"ROLE": "CARD"}},
                     "conditions": {}}
                    """.replace("ROLE", c[1])
                    .replace("CARD", card.toString().replace("\\", "/")));
            EnsembleManifest manifest = EnsembleManifest.read(file);
            try (CpuBackend backend = new CpuBackend(1);
                    CardNetworks networks = new CardNetworks(backend)) {
                StudyPredictor predictor = new StudyPredictor(manifest, networks,
                        LabelPriors.uniform());
                ManifestException e = assertThrows(ManifestException.class, predictor::loadAll);
                String message = e.getMessage();
                assertTrue(message.startsWith(file.toString()), message);
                assertTrue(message.contains("stage1.SAG_T2." + c[1]), message);
                assertTrue(message.contains(c[0] + ".model.json"), message);
                assertTrue(message.contains(c[2]), message);
            }
        }
    }

    @Test
    void everyNetworkOfTheDemoLoadsAndAnswers() {
        EnsembleManifest manifest = EnsembleManifest.read(DEMO);
        assertFalse(manifest.trained(), "the demo's weights are random and must say so");
        try (CpuBackend backend = new CpuBackend(1);
                CardNetworks networks = new CardNetworks(backend)) {
            for (SeriesType type : SeriesType.values()) {
                EnsembleManifest.Stage1Models models = manifest.stage1(type).orElseThrow();
                if (models.slices() != null) {
                    Networks.SliceScorer scorer = networks.sliceScorer(models.slices());
                    ImageInput in = scorer.input();
                    try (Tensor slices = random(1, 7, in.channels(), in.rows(), in.cols())) {
                        Networks.SlicePicks picks = scorer.score(slices);
                        assertEquals(scorer.targets(), picks.slice().length);
                        for (int s : picks.slice()) {
                            assertTrue(s >= 0 && s < 7);
                        }
                    }
                }
                Networks.PointModel points = networks.pointModel(models.points());
                ImageInput in = points.input();
                try (Tensor images = random(2, 3, in.channels(), in.rows(), in.cols())) {
                    float[][][] xy = points.locate(images);
                    assertEquals(3, xy.length);
                    assertEquals(points.targets(), xy[0].length);
                    for (float[][] image : xy) {
                        for (float[] p : image) {
                            assertTrue(p[0] > 0 && p[0] < 1 && p[1] > 0 && p[1] < 1);
                        }
                    }
                }
            }
            Set<String> families = new HashSet<>();
            for (Condition condition : Condition.ALL) {
                for (EnsembleManifest.Member member : manifest.plan(condition).members()) {
                    Networks.BagGrader grader = networks.grader(member.model());
                    BagGeometry bag = member.bag();
                    try (Tensor bags = random(3, 2, bag.slices(), bag.channels(), bag.outRows(),
                            bag.outCols())) {
                        Networks.Grades grades = grader.grade(bags);
                        assertEquals(2, grades.logits().length);
                        for (float[] logits : grades.logits()) {
                            assertEquals(3, logits.length);
                            for (float v : logits) {
                                assertTrue(Float.isFinite(v));
                            }
                        }
                    }
                    families.add(member.name().contains("convnext") ? "convnext" : "effnet");
                }
            }
            assertEquals(Set.of("convnext", "effnet"), families);
            assertNotNull(manifest.priors());
        }
    }
}
