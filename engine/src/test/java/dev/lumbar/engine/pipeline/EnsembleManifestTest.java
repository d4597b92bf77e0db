package dev.lumbar.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnsembleManifestTest {

    @TempDir
    Path folder;

    private static final String MANIFEST = """
            {
              "format": "lumbar-ensemble/1",
              "name": "test",
              "trained": false,
              "priors": "counts.csv",
              "stage1": {"SAG_T2": {"slices": "s.model.json", "points": "p.model.json",
                                    "channel_mode": "adjacent"}},
              "conditions": {
                "spinal_canal_stenosis": {
                  "temperature": 1.5,
                  "members": [
                    {"model": "a.model.json", "view": "SAG_T2", "weight": 2, "flip_tta": true,
                     "bag": {"slices": 5, "channels": 3, "resize": [256, 256],
                             "crop": {"left": 30, "right": 34, "up": 20, "down": 12},
                             "size": [32, 48], "normalisation": {"window": [0, 500]}}},
                    {"model": "b.model.json", "view": "Axial T2",
                     "bag": {"slices": 3, "crop": {"left": 8, "right": 8, "up": 8, "down": 8},
                             "size": [16, 16], "channel_mode": "adjacent",
                             "normalisation": "zscore", "level": true}}
                  ]
                },
                "subarticular_stenosis": {
                  "members": [
                    {"model": "b.model.json", "view": "AX_T2",
                     "bag": {"slices": 1, "crop": {"left": 8, "right": 8, "up": 8, "down": 8},
                             "size": [16, 16], "flip_other_side": true}}
                  ]
                }
              }
            }
            """;

    private Path write(String manifest) throws IOException {
        for (String card : new String[] {"s", "p", "a", "b"}) {
            Files.writeString(folder.resolve(card + ".model.json"), "{}");
        }
        Files.copy(Path.of("src/test/resources/fixtures/pipeline/train_label_counts.csv"),
                folder.resolve("counts.csv"), StandardCopyOption.REPLACE_EXISTING);
        Path file = folder.resolve("test.ensemble.json");
        Files.writeString(file, manifest);
        return file;
    }

    @Test
    void readsMembersBagsAndStageOneModels() throws IOException {
        EnsembleManifest m = EnsembleManifest.read(write(MANIFEST));

        assertEquals("test", m.name());
        assertFalse(m.trained());
        assertEquals(folder.resolve("s.model.json"), m.stage1(SeriesType.SAG_T2).get().slices());
        assertEquals(BagGeometry.ChannelMode.ADJACENT,
                m.stage1(SeriesType.SAG_T2).get().channelMode());
        assertTrue(m.stage1(SeriesType.AX_T2).isEmpty());

        EnsembleManifest.ConditionPlan spinal = m.plan(Condition.SPINAL_CANAL_STENOSIS);
        assertEquals(1.5, spinal.temperature());
        assertEquals(2, spinal.members().size());
        EnsembleManifest.Member first = spinal.members().get(0);
        assertEquals("a", first.name());
        assertEquals(SeriesType.SAG_T2, first.view());
        assertEquals(2.0, first.weight());
        assertTrue(first.flipTta());
        assertEquals(new BagGeometry(5, 1, 3, BagGeometry.ChannelMode.REPEAT, 256, 256,
                30, 34, 20, 12, false, false, 32, 48, Normalisation.window(0, 500)), first.bag());
        EnsembleManifest.Member second = spinal.members().get(1);
        assertEquals(SeriesType.AX_T2, second.view());
        assertEquals(Normalisation.ZSCORE, second.bag().normalisation());
        assertEquals(BagGeometry.ChannelMode.ADJACENT, second.bag().channelMode());
        assertTrue(second.bag().level());
    }

    @Test
    void groupNameServesBothSidesAndUnplannedConditionsHaveNoMembers() throws IOException {
        EnsembleManifest m = EnsembleManifest.read(write(MANIFEST));

        assertEquals(1, m.plan(Condition.LEFT_SUBARTICULAR_STENOSIS).members().size());
        assertEquals(1, m.plan(Condition.RIGHT_SUBARTICULAR_STENOSIS).members().size());
        assertTrue(m.plan(Condition.LEFT_NEURAL_FORAMINAL_NARROWING).members().isEmpty());
        assertEquals(folder.resolve("p.model.json"), m.stage1(SeriesType.SAG_T2).get().points());
    }

    @Test
    void errorsNameTheFileAndTheField() throws IOException {
        Path file = write(MANIFEST.replace("\"slices\": 5", "\"slices\": \"five\""));
        ManifestException e = assertThrows(ManifestException.class,
                () -> EnsembleManifest.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(
                "conditions.spinal_canal_stenosis.members[0].bag.slices"), e.getMessage());

        Path missing = write(MANIFEST.replace("a.model.json", "gone.model.json"));
        e = assertThrows(ManifestException.class, () -> EnsembleManifest.read(missing));
        assertTrue(e.getMessage().contains("members[0].model"), e.getMessage());

        Path format = write(MANIFEST.replace("lumbar-ensemble/1", "lumbar-ensemble/9"));
        e = assertThrows(ManifestException.class, () -> EnsembleManifest.read(format));
        assertTrue(e.getMessage().contains("format"), e.getMessage());

        Path unknown = write(MANIFEST.replace("\"subarticular_stenosis\"", "\"stenosis\""));
        e = assertThrows(ManifestException.class, () -> EnsembleManifest.read(unknown));
        assertTrue(e.getMessage().contains("not a condition"), e.getMessage());
    }

    @Test
    void unknownFieldsAreErrorsNamingTheirPathAndTheKnownFields() throws IOException {
        String[][] typos = {
            {"\"trained\": false", "\"trained\": false, \"colour\": \"red\"", "colour"},
            {"\"weight\": 2", "\"weight\": 2, \"bgg\": {}",
                "conditions.spinal_canal_stenosis.members[0].bgg"},
            {"\"slices\": 3, \"crop\"", "\"slices\": 3, \"crpo\": {}, \"crop\"",
                "conditions.spinal_canal_stenosis.members[1].bag.crpo"},
            {"\"channel_mode\": \"adjacent\"}}", "\"channel_mode\": \"adjacent\","
                + " \"slicez\": 3}}", "stage1.SAG_T2.slicez"},
            {"\"left\": 30,", "\"left\": 30, \"upp\": 1,",
                "members[0].bag.crop.upp"},
            {"\"temperature\": 1.5", "\"temperature\": 1.5, \"temp\": 2",
                "conditions.spinal_canal_stenosis.temp"},
        };
        for (String[] typo : typos) {
            assertTrue(MANIFEST.contains(typo[0]), typo[0]);
            Path file = write(MANIFEST.replace(typo[0], typo[1]));
            ManifestException e = assertThrows(ManifestException.class,
                    () -> EnsembleManifest.read(file), typo[2]);
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(e.getMessage().contains(typo[2] + ": is not a known field; known: ["),
                    e.getMessage());
        }
        Path bag = write(MANIFEST.replace("\"weight\": 2", "\"weight\": 2, \"bgg\": {}"));
        ManifestException e = assertThrows(ManifestException.class,
                () -> EnsembleManifest.read(bag));
        assertTrue(e.getMessage().contains("[bag, flip_tta, model, name, view, weight]"),
                e.getMessage());
    }

    @Test
    void priorsAreTheLabelProportions() throws IOException {
        EnsembleManifest m = EnsembleManifest.read(write(MANIFEST));
        LabelPriors priors = LabelPriors.read(m.priors());
        double[] p = priors.of(Target.fromKaggleName("spinal_canal_stenosis_l1_l2").get());
        double total = 1886 + 67 + 21;
        assertEquals(1886 / total, p[0], 1e-12);
        assertEquals(67 / total, p[1], 1e-12);
        assertEquals(21 / total, p[2], 1e-12);
    }
}
