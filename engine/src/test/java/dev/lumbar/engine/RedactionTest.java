package dev.lumbar.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RedactionTest {

    @Test
    void uidLikeFileNamesKeepOnlyTheirLastFourCharacters() {
        assertEquals("…6787.dcm", Redaction.name("2.25.101412345678901236787.dcm"));
        assertEquals("…8119", Redaction.name("1.2.840.113619.2.55.3.604688119"));
        assertEquals("S3/…6787.dcm", Redaction.path(Path.of("S3",
                "2.25.101412345678901236787.dcm")));
        assertTrue(Redaction.isUidName("1.2.3"));
    }

    @Test
    void kaggleIdsAndOrdinaryNamesPass() {
        assertEquals("4003253/702807833/12.dcm", Redaction.path(Path.of("4003253", "702807833",
                "12.dcm")));
        assertEquals("IM0001", Redaction.name("IM0001"));
        assertEquals("1.2.dcm", Redaction.name("1.2.dcm"));
        assertFalse(Redaction.isUidName("v1.2"));
    }

    @Test
    void uidsInsideNamesAndTextAreWithheld() {
        assertEquals("IMG_" + Redaction.WITHHELD + ".dcm",
                Redaction.name("IMG_1.2.840.113619.5.dcm"));
        assertEquals("series " + Redaction.WITHHELD + " is odd",
                Redaction.withoutUids("series 1.2.840.113619.2.55 is odd"));
        assertFalse(Redaction.containsUid("0.1.0"));
        assertFalse(Redaction.containsUid("p=0.25"));
        // the standard's own UIDs say how a file is encoded, not whose it is
        assertEquals("transfer syntax 1.2.840.10008.1.2.4.201 of " + Redaction.WITHHELD,
                Redaction.withoutUids("transfer syntax 1.2.840.10008.1.2.4.201 of 2.25.1234.5"));
        assertFalse(Redaction.containsUid("syntax 1.2.840.10008.1.2.1"));
    }

    @Test
    void descriptionsThatLookLikePersonNamesAreWithheld() {
        assertEquals(Redaction.NAME_WITHHELD, Redaction.freeText("DOE^JANE01"));
        assertEquals("SAG T2 TSE", Redaction.freeText("SAG T2 TSE"));
        assertEquals(null, Redaction.freeText(null));
    }

    /** A description holding a word of its own file's identifying values, in any form. */
    @Test
    void descriptionsHoldingAWordOfTheFilesIdentifyingValuesAreWithheld() {
        List<String> identifying = Arrays.asList("LEAKTEST^NAME", "PID-4711", "19010203", null,
                "St. Elsewhere", "X");
        for (String text : List.of("AX T2 Leaktest, Name 19010203", "sag t2 leaktest",
                "AX T2 (19010203)", "pid 4711 AX", "ELSEWHERE sagittal")) {
            assertTrue(Redaction.holdsIdentifyingValue(text, identifying), text);
        }
        // whole words only, one-letter words not compared
        assertFalse(Redaction.holdsIdentifyingValue("AX T2 NAMELESS", identifying));
        assertFalse(Redaction.holdsIdentifyingValue("SAG T2 X", identifying));
        assertFalse(Redaction.holdsIdentifyingValue("DOE^JANE", identifying));
        assertFalse(Redaction.holdsIdentifyingValue("SAG T1", List.of()));
    }

    /** A value written with other separators, and a date in another order, are found too. */
    @Test
    void identifyingValuesWrittenAnotherWayAreFound() {
        List<String> identifying = List.of("MRN1534689", "19600613", "OSPEDALE^CENTRALE",
                "A12");
        for (String text : List.of("SAG T2 MRN 1534689", "AX T2 mrn-1534689",
                "born 1960-06-13", "SAG 13.06.1960", "06/13/1960 AX", "ospedale_centrale t1",
                "T2 A12")) {
            assertTrue(Redaction.holdsIdentifyingValue(text, identifying), text);
        }
        // short values only as whole words: "a1 2" is not A12
        for (String text : List.of("SAG T2 TSE 384", "AX T2 a1 2", "T1 2019-06-13",
                "MRN 153468", "SAG T2/STIR")) {
            assertFalse(Redaction.holdsIdentifyingValue(text, identifying), text);
        }
    }

    @Test
    void onlyDefinedTermsOfACodedAttributeAreShown() {
        assertEquals("photometric interpretation MONOCHROME1", Redaction.definedTerm(
                "photometric interpretation", "MONOCHROME1",
                Redaction.PHOTOMETRIC_INTERPRETATIONS));
        assertEquals("modality MR", Redaction.definedTerm("modality", "MR ",
                Redaction.MODALITIES));
        // a patient's ID looks like a code string, and is withheld all the same
        for (String value : new String[] {"MRN3974969", "YBR_MRN3974969", "Leaktest Name", "",
            "RGB\\RGB", null}) {
            assertEquals("an unrecognised photometric interpretation (value withheld)",
                    Redaction.definedTerm("photometric interpretation", value,
                            Redaction.PHOTOMETRIC_INTERPRETATIONS), value);
        }
    }

    @Test
    void onlyWellFormedUidsOfTheStandardAreShown() {
        assertEquals("transfer syntax 1.2.840.10008.1.2.4.80",
                Redaction.registryUid("transfer syntax", "1.2.840.10008.1.2.4.80"));
        for (String value : new String[] {"MRN3974969", "1.2.840.10008.MRN3974969",
            "1.2.840.10008.1.2.03974969", "1.2.826.0.1.3680043.2.1143.77", "", null}) {
            assertEquals("an unrecognised transfer syntax (value withheld)",
                    Redaction.registryUid("transfer syntax", value), value);
        }
        assertFalse(Redaction.isRegistryUid("1.2.840.10008.MRN3974969"));
    }
}
