package dev.lumbar.engine.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.io.Json;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StudyReportTest {

    private static final String UID = "1.2.840.113619.2.55.3.604688119";

    @TempDir
    Path temp;

    private static StudyReport report(String study, String seriesName, List<String> warnings) {
        List<StudyReport.TargetEntry> targets = new ArrayList<>();
        for (Target target : Target.ALL) {
            boolean axial = target.seriesType() == SeriesType.AX_T2;
            targets.add(new StudyReport.TargetEntry(target, new double[] {0.7, 0.2, 0.1},
                    axial ? null : new StudyReport.Location(seriesName, 8, 322.8, 227.9, 0.93),
                    axial ? null : new int[] {6, 7, 8, 9, 10},
                    axial ? null : new double[] {0.1, 0.2, 0.4, 0.2, 0.1},
                    axial ? "no axial T2 series: label prior" : null));
        }
        Map<String, Double> timings = new LinkedHashMap<>();
        timings.put("read", 120.5);
        timings.put("stage1", 800.0);
        return new StudyReport(study, "0.1.0", new StudyReport.BackendInfo("cpu", "cpu"),
                List.of(new ModelFingerprint("spinal_convnext", "a.safetensors", "ab12")),
                timings,
                List.of(new StudyReport.SeriesEntry(seriesName, SeriesType.SAG_T2,
                        StudyReport.TypedBy.SERIES_DESCRIPTION, "Sagittal T2/STIR", 17)),
                targets, warnings);
    }

    @Test
    @SuppressWarnings("unchecked")
    void writesEveryTargetWithLocationAttentionAndFallback() throws Exception {
        Path file = report("4003253", "702807833", List.of()).write(temp);

        assertEquals(temp.resolve("4003253.json"), file);
        Map<String, Object> json = (Map<String, Object>) Json.read(file);
        assertEquals(StudyReport.FORMAT, json.get("format"));
        assertEquals("4003253", json.get("study"));
        List<Object> targets = (List<Object>) json.get("targets");
        assertEquals(25, targets.size());
        Map<String, Object> spinal = (Map<String, Object>) targets.getFirst();
        assertEquals("spinal_canal_stenosis", spinal.get("condition"));
        assertEquals("l1_l2", spinal.get("level"));
        assertEquals("normal_mild", spinal.get("severity"));
        assertEquals(0.1, ((Map<String, Object>) spinal.get("probabilities")).get("severe"));
        Map<String, Object> location = (Map<String, Object>) spinal.get("location");
        assertEquals(8L, location.get("slice"));
        assertEquals("702807833", location.get("series"));
        assertEquals(List.of(6L, 7L, 8L, 9L, 10L),
                ((Map<String, Object>) spinal.get("attention")).get("slices"));
        Map<String, Object> axial = (Map<String, Object>) targets.get(20);
        assertNull(axial.get("location"));
        assertEquals("no axial T2 series: label prior", axial.get("fallback"));
        Map<String, Object> series = (Map<String, Object>) ((List<Object>) json.get("series"))
                .getFirst();
        assertEquals("SAG_T2", series.get("type"));
        assertEquals("series_description", series.get("typed_by"));
        assertEquals(List.of("read", "stage1"),
                List.copyOf(((Map<String, Object>) json.get("timings_ms")).keySet()));
        assertEquals("ab12", ((Map<String, Object>) ((List<Object>) json.get("models"))
                .getFirst()).get("sha256"));
        try (var files = Files.list(temp)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void neverWritesAUid() throws Exception {
        StudyReport report = report(UID, UID + ".5", List.of("series " + UID + ".5 is short"));

        Path file = report.write(temp);

        String text = Files.readString(file);
        assertFalse(text.contains("1.2.840"), text);
        assertEquals("study.json", file.getFileName().toString());
        assertEquals("series-1", report.series().getFirst().name());
        assertEquals("series-1", report.targets().getFirst().location().series());
        assertTrue(report.warnings().getFirst().contains(Identifiers.WITHHELD));
        // Kaggle's integer ids and version-like numbers are not UIDs
        assertFalse(Identifiers.containsUid("4003253"));
        assertFalse(Identifiers.containsUid("0.1.0"));
        assertFalse(Identifiers.containsUid("p=0.25"));
    }

    @Test
    void fingerprintIsTheFilesSha256() throws Exception {
        Path weights = Files.writeString(temp.resolve("w.safetensors"), "abc");

        ModelFingerprint fingerprint = ModelFingerprint.of("m", weights);

        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                fingerprint.sha256());
        assertEquals("w.safetensors", fingerprint.weightsFile());
    }

    @Test
    void targetEntriesRejectMismatchedAttention() {
        Target target = Target.ALL.getFirst();
        assertThrows(IllegalArgumentException.class, () -> new StudyReport.TargetEntry(target,
                new double[] {1, 0, 0}, null, new int[] {1, 2}, new double[] {1}, null));
        assertThrows(IllegalArgumentException.class, () -> new StudyReport.TargetEntry(target,
                new double[] {1, 0}, null, null, null, null));
    }
}
