package dev.lumbar.engine.study;

import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.spine.SeriesType;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Decides a series' type from, in order: the series CSV, the SeriesDescription tag, and the
 * geometry with the sequence timing. Each rule either decides or says why it could not, and the
 * next rule is tried. When a text rule names a plane the images contradict (a sagittal stack
 * described as axial), the text is not trusted: the geometry decides the plane and the
 * sequence timing (TR/TE, inversion time) the weighting, the text's weighting only where the
 * timing cannot tell; a note says so. A coronal series described as sagittal or axial is not
 * typed (no model reads one), and a text whose weighting the timing contradicts is noted.
 * Quoted text passes through {@link Redaction#freeText}.
 */
public final class SeriesTyper {

    /** A sagittal normal within this angle of x (an axial one of z) counts as that plane. */
    static final double MAX_PLANE_ANGLE_DEGREES = 40;

    // T1 spin echo: TR well under a second and a short TE; T2: long TE.
    private static final double T1_MAX_TR = 1000;
    private static final double T1_MAX_TE = 40;
    private static final double T2_MIN_TR = 1500;
    private static final double T2_MIN_TE = 60;
    /**
     * STIR nulls fat, whose inversion time is about 150 ms at 1.5 T and 230 ms at 3 T; T1
     * FLAIR nulls fluid, at 700 to 1000 ms with a T1 echo time. Inversions between the two
     * are taken as neither.
     */
    private static final double STIR_MAX_TI = 400;
    private static final double T1_FLAIR_MIN_TI = 600;

    private static final Pattern SAGITTAL = Pattern.compile("SAG");
    private static final Pattern AXIAL = Pattern.compile("(^|[^A-Z])(AX|TRA)");
    private static final Pattern T1 = Pattern.compile("T1(?![0-9])");
    private static final Pattern T2 = Pattern.compile("T2(?![0-9])|STIR|TIRM");

    private SeriesTyper() {}

    /**
     * Series facts the rules look at; any of them may be null when the tag was absent.
     * {@code normal} is the series' largest stack's; {@code stackNormals} every located stack's
     * (an axial series of blocks tilted to each disc has several). {@code seriesDescription}
     * is typed as the file gives it, and quoted as {@code shownDescription}, which withholds
     * it where it holds the patient's identifying values.
     */
    public record Evidence(String csvDescription, String seriesDescription,
            String shownDescription, Vec3 normal, List<Vec3> stackNormals,
            Double repetitionTime, Double echoTime, Double inversionTime) {

        /** A series of one stack whose description may be shown as it is. */
        public Evidence(String csvDescription, String seriesDescription, Vec3 normal,
                Double repetitionTime, Double echoTime, Double inversionTime) {
            this(csvDescription, seriesDescription, seriesDescription, normal,
                    normal == null ? List.of() : List.of(normal), repetitionTime, echoTime,
                    inversionTime);
        }
    }

    /** Applies the rules in order and returns the first decision, or why none decided. */
    public static SeriesTyping type(Evidence e) {
        return type(e, note -> { });
    }

    /**
     * As {@link #type(Evidence)}; {@code notes} receives what the user should be warned about,
     * such as a description that contradicts the geometry.
     */
    public static SeriesTyping type(Evidence e, Consumer<String> notes) {
        StringBuilder why = new StringBuilder();
        if (e.csvDescription() != null) {
            SeriesTyping t = fromText(e.csvDescription(), TypingRule.SERIES_CSV, "series CSV");
            if (t.decided()) {
                return withGeometricPlane(t, e, notes);
            }
            why.append(t.reason()).append("; ");
        }
        if (e.seriesDescription() != null && !e.seriesDescription().isBlank()) {
            SeriesTyping t = fromText(e.seriesDescription(), e.shownDescription(),
                    TypingRule.SERIES_DESCRIPTION, "SeriesDescription");
            if (t.decided()) {
                return withGeometricPlane(t, e, notes);
            }
            why.append(t.reason()).append("; ");
        }
        SeriesTyping t = fromGeometry(e.normal(), e.repetitionTime(), e.echoTime(),
                e.inversionTime());
        if (t.decided()) {
            return why.isEmpty() ? t : new SeriesTyping(t.type(), t.rule(), t.reason() + "; "
                    + why.substring(0, why.length() - 2));
        }
        return SeriesTyping.undecided(why + t.reason());
    }

    /**
     * {@code text}, a decision from a description, checked against the plane of the images: when
     * the normal is clearly sagittal or axial and the text names the other plane, the geometry
     * rule decides instead; a sagittal series whose timing is unclear keeps the text's weighting.
     */
    private static SeriesTyping withGeometricPlane(SeriesTyping text, Evidence e,
            Consumer<String> notes) {
        boolean textAxial = text.type() == SeriesType.AX_T2;
        String planes = textAxial ? "axial" : "sagittal";
        if (coronalByGeometry(e.stackNormals())) {
            // no model reads a coronal series: taken as sagittal, its slices would be scored as
            // left-to-right steps through the spine when they step front to back
            String contradiction = String.format(Locale.ROOT, "%s names the %s plane but the"
                    + " images are coronal (normal %s, %.0f° off y)", text.reason(), planes,
                    e.normal(), angleOff(e.normal(), 1));
            // no note: an undecided series is warned about, with this reason, where it is left
            // out
            return SeriesTyping.undecided(contradiction + ", which no model reads");
        }
        Boolean geometryAxial = axialByGeometry(e.normal());
        if (geometryAxial == null || geometryAxial == textAxial) {
            return withTimingChecked(text, e, notes);
        }
        String actual = geometryAxial ? "axial" : "sagittal";
        String plane = String.format(Locale.ROOT, "the images are %s (normal %s)", actual,
                e.normal());
        String contradiction = text.reason() + " names the " + planes + " plane but " + plane;
        // text that is wrong about the plane may be wrong about the weighting too (labels
        // swapped between series): the sequence timing decides it where it can
        SeriesTyping timed = fromGeometry(e.normal(), e.repetitionTime(), e.echoTime(),
                e.inversionTime());
        if (timed.decided() || geometryAxial) {
            notes.accept(contradiction + "; the geometry decides the plane and the timing the"
                    + " weighting (" + timed.reason() + ")");
            return timed.decided() ? new SeriesTyping(timed.type(), TypingRule.GEOMETRY,
                    contradiction + "; " + timed.reason()) : SeriesTyping.undecided(
                    contradiction + "; " + timed.reason());
        }
        // sagittal, and TR/TE do not tell T1 from T2: the text's weighting is all there is
        SeriesType type = text.type() == SeriesType.SAG_T1 ? SeriesType.SAG_T1
                : SeriesType.SAG_T2;
        notes.accept(contradiction + "; the geometry decides the plane, the text the weighting ("
                + timed.reason() + ")");
        return new SeriesTyping(type, text.rule(), contradiction + "; weighting from the text");
    }

    /**
     * {@code text} with a note where the sequence timing contradicts its weighting (TR/TE of a
     * T1-weighted sequence and a T2 or STIR description, or the other way round). The text
     * still decides, as timing alone cannot tell every T2 variant, but the typing carries the
     * timing's type for the study to use when another series claims the same type.
     */
    private static SeriesTyping withTimingChecked(SeriesTyping text, Evidence e,
            Consumer<String> notes) {
        // LIMITATION: a series that alone claims its type keeps the text's type even where
        // its timing contradicts it; only the warning tells.
        Boolean timedT1 = t1ByTiming(e.repetitionTime(), e.echoTime(), e.inversionTime());
        boolean textT1 = text.type() == SeriesType.SAG_T1;
        if (timedT1 == null || timedT1 == textT1) {
            return text;
        }
        String timing = String.format(Locale.ROOT, "TR %.0f ms, TE %.0f ms", e.repetitionTime(),
                e.echoTime());
        String contradiction = text.reason() + " names " + (textT1 ? "T1" : "T2") + " but "
                + timing + " are " + (timedT1 ? "T1" : "T2") + "-weighted timing";
        SeriesType byTiming = text.type() == SeriesType.AX_T2 ? null
                : timedT1 ? SeriesType.SAG_T1 : SeriesType.SAG_T2;
        notes.accept(contradiction + "; the text decides" + (byTiming == null ? ""
                : " unless another series is typed " + text.type() + ", then the timing does"));
        return new SeriesTyping(text.type(), text.rule(), text.reason() + " (" + timing
                + " contradict it)", byTiming);
    }

    /**
     * True for T1-weighted timing (a short TR and TE, or a short TE after a long inversion:
     * T1 FLAIR), false for T2 (a long TR with a long TE, or a short inversion: STIR), null when
     * TR/TE are missing or in between.
     */
    private static Boolean t1ByTiming(Double tr, Double te, Double ti) {
        if (tr == null || te == null) {
            return null;
        }
        if (tr < T1_MAX_TR && te < T1_MAX_TE) {
            return true;
        }
        boolean inverted = ti != null && ti > 0;
        if (inverted && ti >= T1_FLAIR_MIN_TI && te < T1_MAX_TE) {
            return true;
        }
        if (tr >= T2_MIN_TR && (te >= T2_MIN_TE || inverted && ti < STIR_MAX_TI)) {
            return false;
        }
        return null;
    }

    /**
     * True where every stack's normal lies within {@link #MAX_PLANE_ANGLE_DEGREES} of y: a
     * coronal series. Every one, not the largest: an axial series may hold a block tilted
     * steeply to a lordotic L5/S1 disc beside plainly axial ones, and that block may be the
     * largest.
     */
    // LIMITATION: a series oblique between the planes (its normal more than 40° off every
    // axis) is neither checked nor left out: its text decides.
    private static boolean coronalByGeometry(List<Vec3> normals) {
        return !normals.isEmpty() && normals.stream().allMatch(normal -> normal != null
                && normal.dominantAxis() == 1 && angleOff(normal, 1) <= MAX_PLANE_ANGLE_DEGREES);
    }

    /** True for a clearly axial normal, false for a clearly sagittal one, else null. */
    private static Boolean axialByGeometry(Vec3 normal) {
        if (normal == null) {
            return null;
        }
        int axis = normal.dominantAxis();
        if (axis == 1 || angleOff(normal, axis) > MAX_PLANE_ANGLE_DEGREES) {
            return null;
        }
        return axis == 2;
    }

    private static double angleOff(Vec3 normal, int axis) {
        return Math.toDegrees(Math.acos(Math.min(1, Math.abs(switch (axis) {
            case 0 -> normal.x();
            case 1 -> normal.y();
            default -> normal.z();
        }))));
    }

    /**
     * Types a description such as "Sagittal T2/STIR", "SAG T1", "T2 STIR SAG" or "AX T2 FSE":
     * the plane from SAG / AX / TRA, the weighting from T1 / T2 / STIR.
     */
    public static SeriesTyping fromText(String text, TypingRule rule, String source) {
        return fromText(text, text, rule, source);
    }

    /**
     * As {@link #fromText(String, TypingRule, String)}, quoting {@code shown} in its reasons:
     * the text as it may be shown, which may withhold {@code text}.
     */
    static SeriesTyping fromText(String text, String shown, TypingRule rule, String source) {
        String upper = text.toUpperCase(Locale.ROOT);
        boolean sagittal = SAGITTAL.matcher(upper).find();
        boolean axial = AXIAL.matcher(upper).find();
        boolean t1 = T1.matcher(upper).find();
        boolean t2 = T2.matcher(upper).find();
        String quoted = source + " '" + Redaction.freeText(shown.strip()) + "'";
        if (sagittal == axial) {
            return SeriesTyping.undecided(quoted + (sagittal ? " names both planes"
                    : " names no plane"));
        }
        if (t1 == t2) {
            return SeriesTyping.undecided(quoted + (t1 ? " names both weightings"
                    : " names no weighting"));
        }
        if (axial && t1) {
            return SeriesTyping.undecided(quoted + " is an axial T1, which no model reads");
        }
        SeriesType type = axial ? SeriesType.AX_T2 : t1 ? SeriesType.SAG_T1 : SeriesType.SAG_T2;
        return new SeriesTyping(type, rule, quoted);
    }

    /**
     * Types by plane (the stack normal: sagittal near x, axial near z) and weighting (TR/TE, or an
     * inversion time for STIR). An axial series without timing is taken as T2, the only axial
     * series the models read; a sagittal one needs timing to tell T1 from T2.
     */
    public static SeriesTyping fromGeometry(Vec3 normal, Double tr, Double te, Double ti) {
        if (normal == null) {
            return SeriesTyping.undecided("no ImageOrientationPatient");
        }
        int axis = normal.dominantAxis();
        double angle = angleOff(normal, axis);
        if (axis == 1 || angle > MAX_PLANE_ANGLE_DEGREES) {
            return SeriesTyping.undecided(String.format(Locale.ROOT,
                    "orientation is neither sagittal nor axial (normal %s)", normal));
        }
        String plane = String.format(Locale.ROOT, "%s normal (%.0f° off %s)",
                axis == 0 ? "sagittal" : "axial", angle, axis == 0 ? "x" : "z");
        String timing = tr == null || te == null ? "no TR/TE"
                : String.format(Locale.ROOT, "TR %.0f ms, TE %.0f ms", tr, te);
        Boolean isT1 = t1ByTiming(tr, te, ti);
        if (Boolean.FALSE.equals(isT1) && te < T2_MIN_TE) {
            timing += String.format(Locale.ROOT, ", TI %.0f ms (STIR)", ti);
        }
        if (axis == 2) {
            if (Boolean.TRUE.equals(isT1)) {
                return SeriesTyping.undecided(plane + ", " + timing
                        + ": an axial T1, which no model reads");
            }
            String assumed = tr == null || te == null ? " (taken as T2, the only axial series"
                    + " read)" : " (weighting unclear, taken as T2, the only axial series read)";
            return new SeriesTyping(SeriesType.AX_T2, TypingRule.GEOMETRY, plane + ", " + timing
                    + (isT1 == null ? assumed : ""));
        }
        if (isT1 == null) {
            return SeriesTyping.undecided(plane + ", " + timing + ": weighting unclear");
        }
        return new SeriesTyping(isT1 ? SeriesType.SAG_T1 : SeriesType.SAG_T2, TypingRule.GEOMETRY,
                plane + ", " + timing);
    }
}
