package dev.lumbar.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class CsvTest {

    @Test
    void splitsPlainKaggleLinesOnCommasAndStripsFields() {
        assertEquals(List.of("4003253", "702807833", "Sagittal T2/STIR"),
                Csv.fields("4003253, 702807833 ,Sagittal T2/STIR"));
    }

    @Test
    void keepsEmptyFieldsAtBothEnds() {
        assertEquals(List.of("", "a", ""), Csv.fields(",a,"));
    }

    @Test
    void quotesGroupCommasAndDoubledQuotesAreLiteral() {
        assertEquals(List.of("1", "Sag T2, \"fat sat\"", "x"),
                Csv.fields("1,\"Sag T2, \"\"fat sat\"\"\",x"));
    }

    @Test
    void dropsOnlyALeadingByteOrderMark() {
        assertEquals("study_id,series_id", Csv.withoutBom("\uFEFFstudy_id,series_id"));
        assertEquals("study_id\uFEFF", Csv.withoutBom("study_id\uFEFF"));
    }
}
