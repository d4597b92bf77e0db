package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeriesDescriptionsTest {

    @TempDir
    Path dir;

    @Test
    void readsKaggleCsvWithBomQuotesAndReorderedColumns() throws Exception {
        Path csv = dir.resolve("series.csv");
        Files.writeString(csv, "\uFEFFseries_id,series_description,study_id\n"
                + "702807833,\"Sagittal T2/STIR\",4003253\n"
                + "\n"
                + "1054713880,Sagittal T1,4003253\n"
                + "2448190387,\"Axial, \"\"T2\"\"\",4003253\n");
        SeriesDescriptions d = SeriesDescriptions.read(csv);
        assertEquals(3, d.size());
        assertEquals(Optional.of("Sagittal T2/STIR"), d.find("4003253", "702807833"));
        assertEquals(Optional.of("Sagittal T1"), d.find("4003253", "1054713880"));
        assertEquals(Optional.of("Axial, \"T2\""), d.find("4003253", "2448190387"));
        assertEquals(Optional.empty(), d.find("4003253", "1"));
    }

    @Test
    void badCsvNamesTheFileAndTheProblem() throws Exception {
        Path csv = dir.resolve("bad.csv");
        Files.writeString(csv, "study_id,series\n1,2\n");
        StudyException e = assertThrows(StudyException.class, () -> SeriesDescriptions.read(csv));
        assertTrue(e.getMessage().contains("bad.csv") && e.getMessage().contains(
                "series_description"), e.getMessage());

        // a short row is a warning naming file and line, not a refusal of the whole file
        Files.writeString(csv, "study_id,series_id,series_description\n1,2\n");
        List<String> warnings = SeriesDescriptions.read(csv).unmatched(Set.of(), Map.of());
        assertTrue(warnings.size() == 1 && warnings.getFirst().contains("bad.csv line 2: 2"
                + " fields"), warnings.toString());
    }
}
