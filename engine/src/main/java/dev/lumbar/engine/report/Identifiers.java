package dev.lumbar.engine.report;

import dev.lumbar.engine.Redaction;

/**
 * Keeps DICOM UIDs out of the report; the rules live in {@link Redaction}, shared with every
 * other place that shows DICOM-derived text. Kaggle's study and series ids are plain integers and
 * pass untouched.
 */
final class Identifiers {

    /** What a withheld UID is replaced by in free text. */
    static final String WITHHELD = Redaction.WITHHELD;

    private Identifiers() {
    }

    static boolean containsUid(String text) {
        return Redaction.containsUid(text);
    }

    /** {@code text} with every UID replaced by {@link #WITHHELD}. */
    static String withoutUids(String text) {
        return Redaction.withoutUids(text);
    }
}
