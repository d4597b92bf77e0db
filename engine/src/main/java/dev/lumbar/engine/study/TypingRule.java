package dev.lumbar.engine.study;

/** Which rule decided a series' type; the rules are tried in this order. */
public enum TypingRule {
    /** The {@code --series-csv} file named the series. */
    SERIES_CSV,
    /** The SeriesDescription tag named plane and weighting. */
    SERIES_DESCRIPTION,
    /** ImageOrientationPatient gave the plane, RepetitionTime/EchoTime the weighting. */
    GEOMETRY,
    /** No rule decided; the series is not used. */
    UNDECIDED
}
