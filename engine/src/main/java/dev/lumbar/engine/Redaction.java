package dev.lumbar.engine;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps DICOM UIDs, person names and other values read from files out of what is shown to
 * users. A coded value is shown only when it is one of its attribute's defined terms
 * ({@link #definedTerm}), a UID only when it is one of the standard's ({@link #registryUid}).
 *
 * <p>Two notions of a UID, because the contexts differ. In free text a UID is a dotted string of
 * at least four numeric components starting with 0, 1 or 2 ({@code 1.2.840.113619.2.55…}), so
 * that decimals and short version numbers pass; an extension or a full stop may follow it. A file
 * or folder name made only of digits and dots with at least two dots ({@code 2.25.1014787},
 * optionally with an extension such as {@code .dcm}) is what exporters write for
 * SOPInstanceUIDs and SeriesInstanceUIDs, and is masked down to its last four characters, which
 * still help to find the file. Kaggle's plain integer ids pass untouched.
 */
public final class Redaction {

    /** What a withheld UID is replaced by in free text. */
    public static final String WITHHELD = "<uid withheld>";

    /** What a SeriesDescription that looks like a person name is replaced by. */
    public static final String NAME_WITHHELD = "<text withheld: looks like a person name>";

    /** What free text holding a word of its file's identifying values is replaced by. */
    public static final String IDENTIFIER_WITHHELD =
            "<text withheld: holds a word of the patient's identifying values>";

    private static final Pattern NOT_A_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");

    private static final Pattern CONTROL = Pattern.compile("\\p{Cntrl}");

    /** A DICOM date (DA): YYYYMMDD. */
    private static final Pattern DICOM_DATE = Pattern.compile(
            "(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])");

    /**
     * The fewest letters and digits an identifying value must have to be looked for with its
     * separators taken out: shorter runs turn up in ordinary descriptions by chance.
     */
    static final int MIN_SPELLED_OUT = 6;

    private static final Pattern UID_IN_TEXT = Pattern.compile(
            "(?<![0-9.])[0-2](\\.(0|[1-9][0-9]*)){3,}(?![0-9]|\\.[0-9])");

    private static final Pattern UID_NAME = Pattern.compile(
            "([0-9]+(?:\\.[0-9]+){2,})(\\.[A-Za-z][A-Za-z0-9]{0,4})?");

    private static final String REGISTRY_ROOT = "1.2.840.10008.";

    /** How many trailing characters of a UID-like name are kept. */
    private static final int KEPT = 4;

    private Redaction() {
    }

    /**
     * Whether {@code text} holds something that looks like a DICOM UID, other than the
     * standard's own ({@link #isRegistryUid}).
     */
    public static boolean containsUid(String text) {
        return text != null && UID_IN_TEXT.matcher(text).results()
                .anyMatch(uid -> !isRegistryUid(uid.group()));
    }

    /**
     * {@code text} with every UID replaced by {@link #WITHHELD}, except the standard's own
     * ({@link #isRegistryUid}); null stays null.
     */
    public static String withoutUids(String text) {
        return text == null ? null : UID_IN_TEXT.matcher(text).replaceAll(uid ->
                isRegistryUid(uid.group()) ? Matcher.quoteReplacement(uid.group()) : WITHHELD);
    }

    /**
     * Whether {@code uid} lies under the DICOM standard's root, 1.2.840.10008: transfer
     * syntaxes and SOP classes, the same in every hospital, which say how a file is encoded
     * and never whose it is. Naming them is what lets a user see why a file was refused.
     */
    public static boolean isRegistryUid(String uid) {
        return uid.startsWith(REGISTRY_ROOT) && UID.matcher(uid).matches();
    }

    /** Whether a file or folder name is UID-like: digits and dots, two dots at least. */
    public static boolean isUidName(String name) {
        return name != null && UID_NAME.matcher(name).matches();
    }

    /**
     * One file or folder name as it may be shown: a UID-like name becomes {@code …} and its last
     * four characters (the extension kept), a name holding a UID has it withheld, any other name
     * is unchanged.
     */
    public static String name(String name) {
        if (name == null) {
            return null;
        }
        Matcher m = UID_NAME.matcher(name);
        if (m.matches()) {
            String uid = m.group(1);
            String extension = m.group(2) == null ? "" : m.group(2);
            return "…" + uid.substring(Math.max(0, uid.length() - KEPT)) + extension;
        }
        return withoutUids(name);
    }

    /**
     * A short tag that stands for {@code key} where key itself may not be shown: the first six
     * hexadecimal digits of its SHA-256. The same key always gives the same tag; different
     * keys collide once in about 16 million pairs.
     */
    public static String tag(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 3);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** A path as it may be shown: every component passed through {@link #name(String)}. */
    public static String path(Path path) {
        if (path == null) {
            return null;
        }
        StringBuilder shown = new StringBuilder();
        if (path.getRoot() != null) {
            shown.append(path.getRoot());
        }
        for (int i = 0; i < path.getNameCount(); i++) {
            if (i > 0) {
                shown.append('/');
            }
            shown.append(name(path.getName(i).toString()));
        }
        return shown.toString();
    }

    /** Whether free text looks like a DICOM person name ({@code FAMILY^GIVEN}). */
    public static boolean looksLikePersonName(String text) {
        return text != null && text.indexOf('^') >= 0;
    }

    /**
     * A free-text value (SeriesDescription, a CSV description) as it may be shown: withheld
     * entirely when it looks like a person name, else with any UID withheld; null stays null.
     */
    public static String freeText(String text) {
        if (text == null) {
            return null;
        }
        return looksLikePersonName(text) ? NAME_WITHHELD : withoutUids(text);
    }

    /**
     * Whether {@code text} holds one of the {@code identifying} values (null ones ignored),
     * ignoring case, since a description typed by hand can carry them in any form: a word of
     * one ({@code AX T2 Doe, John}; words of one character are not compared), or a whole value
     * of at least {@value #MIN_SPELLED_OUT} letters and digits written with other separators
     * or none ({@code MRN 1534689} for MRN1534689, {@code 1960-06-13} for 19600613). A date
     * (eight digits, as DICOM writes them) is also looked for day first and month first
     * ({@code 13.06.1960}, {@code 06/13/1960}).
     */
    // LIMITATION: a date with a two-digit year or a month name, and a value split by other
    // words, are not recognised.
    public static boolean holdsIdentifyingValue(String text, Collection<String> identifying) {
        Set<String> words = new HashSet<>();
        Set<String> spelledOut = new HashSet<>();
        for (String value : identifying) {
            if (value == null) {
                continue;
            }
            for (String word : NOT_A_WORD.split(value.toLowerCase(Locale.ROOT))) {
                if (word.length() > 1) {
                    words.add(word);
                }
            }
            String joined = lettersAndDigits(value);
            if (joined.length() >= MIN_SPELLED_OUT) {
                spelledOut.add(joined);
            }
            if (DICOM_DATE.matcher(joined).matches()) {
                String year = joined.substring(0, 4);
                String month = joined.substring(4, 6);
                String day = joined.substring(6, 8);
                spelledOut.add(day + month + year);
                spelledOut.add(month + day + year);
            }
        }
        for (String word : NOT_A_WORD.split(text.toLowerCase(Locale.ROOT))) {
            if (words.contains(word)) {
                return true;
            }
        }
        String joined = lettersAndDigits(text);
        return spelledOut.stream().anyMatch(joined::contains);
    }

    /** {@code text} lower-cased with everything but letters and digits taken out. */
    private static String lettersAndDigits(String text) {
        return NOT_A_WORD.matcher(text.toLowerCase(Locale.ROOT)).replaceAll("");
    }

    /**
     * {@code text} with every control character (a line break, an escape) shown as {@code ?}:
     * text read from a file and printed as it is could forge a line of output or drive the
     * terminal.
     */
    public static String printable(String text) {
        return CONTROL.matcher(text).replaceAll("?");
    }

    /**
     * The defined terms of PhotometricInterpretation (DICOM PS3.3 C.7.6.3.1.2), retired ones
     * included: the only values of it that may be shown.
     */
    public static final Set<String> PHOTOMETRIC_INTERPRETATIONS = Set.of("MONOCHROME1",
            "MONOCHROME2", "PALETTE COLOR", "RGB", "HSV", "ARGB", "CMYK", "YBR_FULL",
            "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT", "XYB");

    /** The defined terms of Modality (DICOM PS3.3 C.7.3.1.1.1), retired ones included. */
    public static final Set<String> MODALITIES = Set.of("AR", "ASMT", "AU", "BDUS", "BI",
            "BMD", "CD", "CF", "CFM", "CP", "CR", "CS", "CT", "CTPROTOCOL", "DD", "DF", "DG",
            "DM", "DMS", "DOC", "DS", "DX", "EC", "ECG", "EEG", "EMG", "EOG", "EPS", "ES", "FA",
            "FID", "FS", "GM", "HC", "HD", "IO", "IOL", "IVOCT", "IVUS", "KER", "KO", "LEN",
            "LP", "LS", "M3D", "MA", "MG", "MR", "MS", "NM", "OAM", "OCT", "OP", "OPM", "OPR",
            "OPT", "OPTBSV", "OPTENF", "OPV", "OSS", "OT", "PA", "PLAN", "POS", "PR", "PT",
            "PX", "REG", "RESP", "RF", "RG", "RTDOSE", "RTIMAGE", "RTINTENT", "RTPLAN",
            "RTRAD", "RTRECORD", "RTSEGANN", "RTSTRUCT", "RWV", "SEG", "SM", "SMR", "SR",
            "SRF", "ST", "STAIN", "TEXTUREMAP", "TG", "US", "VA", "VF", "XA", "XAPROTOCOL",
            "XC");

    /** A well-formed UID (DICOM PS3.5 9.1): numeric components, no leading zeros, 64 chars. */
    private static final Pattern UID = Pattern.compile(
            "(?=.{1,64}$)(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))+");

    /**
     * A coded value read from a file ({@code what}, e.g. "photometric interpretation") as it
     * may be shown: {@code what} and the value when the value is one of {@code terms}, else
     * that it was unrecognised, without the value. A value outside the vocabulary can be any
     * text a sender typed into the tag, a patient's ID among it, however much it looks like a
     * code.
     */
    public static String definedTerm(String what, String value, Set<String> terms) {
        String term = value == null ? null : value.strip();
        return term != null && terms.contains(term) ? what + " " + term
                : "an unrecognised " + what + " (value withheld)";
    }

    /**
     * A UID read from a file ({@code what}, e.g. "transfer syntax") as it may be shown:
     * {@code what} and the UID when it is a well-formed UID under the standard's own root
     * ({@link #isRegistryUid}), else that it was unrecognised, without the value: any other
     * UID is an institution's, and a malformed one can be any text.
     */
    public static String registryUid(String what, String uid) {
        return uid != null && isRegistryUid(uid.strip()) ? what + " " + uid.strip()
                : "an unrecognised " + what + " (value withheld)";
    }
}
