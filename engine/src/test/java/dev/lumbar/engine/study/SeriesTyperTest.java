package dev.lumbar.engine.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.spine.SeriesType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SeriesTyperTest {

    private static final Vec3 SAGITTAL = new Vec3(-1, 0, 0);
    private static final Vec3 AXIAL = new Vec3(0, 0, 1);

    @ParameterizedTest
    @CsvSource({
        "Sagittal T1, SAG_T1",
        "Sagittal T2/STIR, SAG_T2",
        "Axial T2, AX_T2",
        "SAG T1, SAG_T1",
        "T2 STIR SAG, SAG_T2",
        "AX T2 FSE, AX_T2",
        "t1_tse_sag_320, SAG_T1",
        "SAG STIR, SAG_T2",
        "T2W_TSE_TRA, AX_T2",
        "AXIAL T2 FRFSE, AX_T2",
        "sag t2 frfse, SAG_T2",
    })
    void descriptionsNameTheirType(String description, SeriesType expected) {
        SeriesTyping t = SeriesTyper.fromText(description, TypingRule.SERIES_DESCRIPTION,
                "SeriesDescription");
        assertEquals(expected, t.type(), t.reason());
        assertEquals(TypingRule.SERIES_DESCRIPTION, t.rule());
    }

    @ParameterizedTest
    @CsvSource({"AX T1", "SAG PD", "T2 MYELO", "SAG AX T2", "LOCALIZER", "SAG T1 T2 FUSION"})
    void ambiguousOrUnusedDescriptionsDoNotDecide(String description) {
        SeriesTyping t = SeriesTyper.fromText(description, TypingRule.SERIES_DESCRIPTION,
                "SeriesDescription");
        assertFalse(t.decided(), description + " -> " + t.type());
        assertTrue(t.reason().contains(description), t.reason());
    }

    @Test
    void csvComesBeforeTheDescriptionTag() {
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence("Sagittal T1", "AX T2 FSE",
                SAGITTAL, 4000.0, 100.0, null));
        assertEquals(SeriesType.SAG_T1, t.type());
        assertEquals(TypingRule.SERIES_CSV, t.rule());
    }

    @Test
    void descriptionTagComesBeforeGeometry() {
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence(null, "SAG T2 TSE", SAGITTAL,
                500.0, 10.0, null));
        assertEquals(SeriesType.SAG_T2, t.type());
        assertEquals(TypingRule.SERIES_DESCRIPTION, t.rule());
    }

    @Test
    void geometryAndTimingDecideWhenTextCannot() {
        SeriesTyping t1 = SeriesTyper.type(new SeriesTyper.Evidence(null, "SERIES 3",
                SAGITTAL, 550.0, 12.0, null));
        assertEquals(SeriesType.SAG_T1, t1.type(), t1.reason());
        assertEquals(TypingRule.GEOMETRY, t1.rule());
        assertTrue(t1.reason().contains("SERIES 3"), "says why the text failed: " + t1.reason());

        SeriesTyping t2 = SeriesTyper.type(new SeriesTyper.Evidence(null, null,
                new Vec3(-0.99, 0.1, 0.05), 3500.0, 100.0, null));
        assertEquals(SeriesType.SAG_T2, t2.type(), t2.reason());

        SeriesTyping stir = SeriesTyper.type(new SeriesTyper.Evidence(null, null, SAGITTAL,
                4000.0, 40.0, 160.0));
        assertEquals(SeriesType.SAG_T2, stir.type(), stir.reason());

        Vec3 tilted = new Vec3(0, -Math.sin(Math.toRadians(20)), Math.cos(Math.toRadians(20)));
        SeriesTyping axial = SeriesTyper.type(new SeriesTyper.Evidence(null, null, tilted,
                4200.0, 96.0, null));
        assertEquals(SeriesType.AX_T2, axial.type(), axial.reason());
        assertEquals(TypingRule.GEOMETRY, axial.rule());
    }

    @Test
    void geometryWithoutTimingDecidesOnlyAxial() {
        assertEquals(SeriesType.AX_T2, SeriesTyper.fromGeometry(AXIAL, null, null, null).type());
        assertFalse(SeriesTyper.fromGeometry(SAGITTAL, null, null, null).decided());
        assertFalse(SeriesTyper.fromGeometry(new Vec3(0, 1, 0), 500.0, 10.0, null).decided(),
                "coronal");
        assertFalse(SeriesTyper.fromGeometry(AXIAL, 500.0, 10.0, null).decided(), "axial T1");
        assertFalse(SeriesTyper.fromGeometry(SAGITTAL, 1200.0, 30.0, null).decided(),
                "intermediate timing");
    }

    @Test
    void undecidedSeriesSaysWhyForEveryRule() {
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence("Scout", "LOCALIZER", null,
                null, null, null));
        assertEquals(TypingRule.UNDECIDED, t.rule());
        assertTrue(t.reason().contains("Scout") && t.reason().contains("LOCALIZER")
                && t.reason().contains("ImageOrientationPatient"), t.reason());
    }

    @Test
    void aDescriptionWhoseWeightingTheTimingContradictsIsKeptWithANote() {
        List<String> notes = new ArrayList<>();
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence(null, "SAG T2 STIR",
                SAGITTAL, 580.0, 11.0, null), notes::add);

        assertEquals(SeriesType.SAG_T2, t.type(), t.reason());
        assertEquals(SeriesType.SAG_T1, t.byTiming());
        assertEquals(List.of("SeriesDescription 'SAG T2 STIR' names T2 but TR 580 ms, TE 11 ms"
                + " are T1-weighted timing; the text decides unless another series is typed"
                + " SAG_T2, then the timing does"), notes);

        List<String> agreeing = new ArrayList<>();
        SeriesTyping t1 = SeriesTyper.type(new SeriesTyper.Evidence(null, "SAG T1",
                SAGITTAL, 580.0, 11.0, null), agreeing::add);
        assertEquals(null, t1.byTiming());
        assertEquals(List.of(), agreeing);
    }

    @Test
    void aT1FlairIsT1ByItsTimingDespiteItsLongRepetitionAndInversionTimes() {
        // T1 FLAIR, common on sagittal lumbar protocols: TR 2000-2500 ms, TI 700-1000 ms
        List<String> notes = new ArrayList<>();
        SeriesTyping described = SeriesTyper.type(new SeriesTyper.Evidence(null,
                "SAG T1 FLAIR", SAGITTAL, 2200.0, 9.0, 860.0), notes::add);
        assertEquals(SeriesType.SAG_T1, described.type(), described.reason());
        assertEquals(null, described.byTiming());
        assertEquals(List.of(), notes);

        SeriesTyping timed = SeriesTyper.type(new SeriesTyper.Evidence(null, null, SAGITTAL,
                2200.0, 9.0, 860.0));
        assertEquals(SeriesType.SAG_T1, timed.type(), timed.reason());

        // between STIR's and T1 FLAIR's inversions: neither
        assertFalse(SeriesTyper.fromGeometry(SAGITTAL, 3000.0, 30.0, 500.0).decided());
    }

    @Test
    void anAxialSeriesWithOneSteepBlockIsStillAxial() {
        // the L5/S1 block tilted 50° to a lordotic disc (40° off y), the largest of the series
        Vec3 steep = new Vec3(0, -Math.sin(Math.toRadians(50)), Math.cos(Math.toRadians(50)));
        Vec3 tilted = new Vec3(0, -Math.sin(Math.toRadians(10)), Math.cos(Math.toRadians(10)));
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence(null, "AX T2 FSE",
                "AX T2 FSE", steep, List.of(AXIAL, tilted, steep), 4200.0, 96.0, null));
        assertEquals(SeriesType.AX_T2, t.type(), t.reason());

        Vec3 steeper = new Vec3(0, -Math.sin(Math.toRadians(60)), Math.cos(Math.toRadians(60)));
        SeriesTyping coronal = SeriesTyper.type(new SeriesTyper.Evidence(null, "AX T2 FSE",
                "AX T2 FSE", steeper, List.of(steeper, new Vec3(0, 1, 0)), 4200.0, 96.0, null));
        assertFalse(coronal.decided(), coronal.reason());
    }

    @Test
    void aWithheldDescriptionTypesByItsWordsAndQuotesOnlyWhatMayBeShown() {
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence(null, "SAG STIR ROSSI",
                "<withheld>", SAGITTAL, List.of(SAGITTAL), 3500.0, 40.0, null));
        assertEquals(SeriesType.SAG_T2, t.type(), t.reason());
        assertEquals("SeriesDescription '<withheld>'", t.reason());
    }

    @Test
    void aCoronalSeriesDescribedAsSagittalIsNotTypedAndSaysWhy() {
        List<String> notes = new ArrayList<>();
        Vec3 coronal = new Vec3(-Math.sin(Math.toRadians(28)), Math.cos(Math.toRadians(28)), 0);
        SeriesTyping t = SeriesTyper.type(new SeriesTyper.Evidence(null, "SAG T2 TSE",
                coronal, 3500.0, 100.0, null), notes::add);

        assertFalse(t.decided(), t.reason());
        assertTrue(t.reason().startsWith("SeriesDescription 'SAG T2 TSE' names the sagittal"
                + " plane but the images are coronal"), t.reason());
        assertTrue(t.reason().contains("28° off y") && t.reason().endsWith("which no model"
                + " reads"), t.reason());
    }
}
