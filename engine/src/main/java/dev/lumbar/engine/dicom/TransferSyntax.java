package dev.lumbar.engine.dicom;

/** Transfer syntax UIDs the reader knows, and how each one is laid out. */
public final class TransferSyntax {

    public static final String IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";
    public static final String EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";
    public static final String DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99";
    public static final String EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2";
    public static final String JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
    public static final String JPEG_EXTENDED = "1.2.840.10008.1.2.4.51";
    public static final String JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57";
    public static final String JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70";
    public static final String JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80";
    public static final String JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81";
    public static final String JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90";
    public static final String JPEG_2000 = "1.2.840.10008.1.2.4.91";
    public static final String RLE_LOSSLESS = "1.2.840.10008.1.2.5";

    private TransferSyntax() {
    }

    /** A human-readable name for error messages. */
    public static String describe(String uid) {
        if (uid == null) {
            return "unknown";
        }
        return switch (uid) {
            case IMPLICIT_VR_LITTLE_ENDIAN -> "Implicit VR Little Endian";
            case EXPLICIT_VR_LITTLE_ENDIAN -> "Explicit VR Little Endian";
            case DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN -> "Deflated Explicit VR Little Endian";
            case EXPLICIT_VR_BIG_ENDIAN -> "Explicit VR Big Endian";
            case JPEG_BASELINE -> "JPEG Baseline (Process 1)";
            case JPEG_EXTENDED -> "JPEG Extended (Process 2 & 4)";
            case JPEG_LOSSLESS -> "JPEG Lossless, Non-Hierarchical (Process 14)";
            case JPEG_LOSSLESS_SV1 -> "JPEG Lossless, First-Order Prediction (Process 14, SV1)";
            case JPEG_LS_LOSSLESS -> "JPEG-LS Lossless";
            case JPEG_LS_NEAR_LOSSLESS -> "JPEG-LS Lossy (Near-Lossless)";
            case JPEG_2000_LOSSLESS -> "JPEG 2000 Lossless";
            case JPEG_2000 -> "JPEG 2000";
            case RLE_LOSSLESS -> "RLE Lossless";
            default -> uid.startsWith("1.2.840.10008.1.2.4.") ? "an image compression syntax"
                    : "not a transfer syntax this reader knows";
        };
    }

    /**
     * Whether the standard reader can decode pixel data in this syntax: the native syntaxes,
     * RLE, the JPEG processes and JPEG 2000, which ImageIO plugins decode.
     * Other compressed syntaxes (JPEG-LS, JPEG XL, HTJ2K, video) are not; a null or unknown
     * syntax counts as decodable, since the reader then goes by how the pixel data is laid out.
     */
    public static boolean decodable(String uid) {
        if (uid == null || !uid.startsWith("1.2.840.10008.1.2.4.")
                && !uid.equals(RLE_LOSSLESS)) {
            return true;
        }
        return switch (uid) {
            case RLE_LOSSLESS, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS, JPEG_LOSSLESS_SV1,
                    JPEG_2000_LOSSLESS, JPEG_2000 -> true;
            default -> false;
        };
    }

    /** Whether the pixel data of this syntax is encapsulated (split into fragments). */
    static boolean isEncapsulated(String uid) {
        return !uid.equals(IMPLICIT_VR_LITTLE_ENDIAN) && !uid.equals(EXPLICIT_VR_LITTLE_ENDIAN)
                && !uid.equals(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
                && !uid.equals(EXPLICIT_VR_BIG_ENDIAN);
    }
}
