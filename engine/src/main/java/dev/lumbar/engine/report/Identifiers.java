package dev.lumbar.engine.report;

import java.util.regex.Pattern;

/**
 * Keeps DICOM UIDs out of outputs. A UID is a dotted string of at least four numeric
 * components starting with 0, 1 or 2 ({@code 1.2.840.113619.2.55…}); Kaggle's study and series
 * ids are plain integers and pass untouched.
 */
final class Identifiers {

    private static final Pattern UID = Pattern.compile(
            "(?<![0-9.])[0-2](\\.(0|[1-9][0-9]*)){3,}(?![0-9.])");

    /** What a withheld UID is replaced by in free text. */
    static final String WITHHELD = "<uid withheld>";

    private Identifiers() {
    }

    static boolean containsUid(String text) {
        return text != null && UID.matcher(text).find();
    }

    /** {@code text} with every UID replaced by {@link #WITHHELD}. */
    static String withoutUids(String text) {
        return text == null ? null : UID.matcher(text).replaceAll(WITHHELD);
    }
}
