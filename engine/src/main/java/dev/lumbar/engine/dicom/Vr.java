package dev.lumbar.engine.dicom;

/**
 * Value representations as two-character codes packed into an int ({@code 'O' << 8 | 'B'}), and
 * the small dictionary implicit-VR data sets need: the VR of the binary-valued tags the engine
 * reads. Any other tag in an implicit-VR data set is treated as text, which is what it is for
 * every string-valued tag; binary private values then read as unhelpful text, never wrongly.
 */
final class Vr {

    static final int AE = code("AE"), AS = code("AS"), AT = code("AT"), CS = code("CS");
    static final int DA = code("DA"), DS = code("DS"), DT = code("DT"), FD = code("FD");
    static final int FL = code("FL"), IS = code("IS"), LO = code("LO"), LT = code("LT");
    static final int OB = code("OB"), OD = code("OD"), OF = code("OF"), OL = code("OL");
    static final int OV = code("OV"), OW = code("OW"), PN = code("PN"), SH = code("SH");
    static final int SL = code("SL"), SQ = code("SQ"), SS = code("SS"), ST = code("ST");
    static final int SV = code("SV"), TM = code("TM"), UC = code("UC"), UI = code("UI");
    static final int UL = code("UL"), UN = code("UN"), UR = code("UR"), US = code("US");
    static final int UT = code("UT"), UV = code("UV");

    /** Implicit VR for a tag not in the dictionary: its value is read as text. */
    static final int TEXT = UN;

    private Vr() {
    }

    static int code(String vr) {
        return vr.charAt(0) << 8 | vr.charAt(1);
    }

    static String name(int vr) {
        return "" + (char) (vr >>> 8) + (char) (vr & 0xFF);
    }

    /** Whether two bytes read as a VR code are upper-case letters (the form every VR has). */
    static boolean looksLikeVr(int b0, int b1) {
        return b0 >= 'A' && b0 <= 'Z' && b1 >= 'A' && b1 <= 'Z';
    }

    /** Explicit VRs whose header has two reserved bytes and a 32-bit length (PS3.5 7.1.2). */
    static boolean hasLongLength(int vr) {
        return vr == OB || vr == OD || vr == OF || vr == OL || vr == OV || vr == OW
                || vr == SQ || vr == UC || vr == UR || vr == UT || vr == UN || vr == SV
                || vr == UV;
    }

    static boolean isBinaryNumber(int vr) {
        return vr == US || vr == SS || vr == UL || vr == SL || vr == FL || vr == FD
                || vr == SV || vr == UV;
    }

    static int byteSize(int vr) {
        if (vr == US || vr == SS) {
            return 2;
        }
        if (vr == FD || vr == SV || vr == UV) {
            return 8;
        }
        return 4;
    }

    /** The VR of a tag in an implicit-VR data set (PS3.6 registry, binary tags only). */
    static int implicitVr(int tag) {
        if ((tag & 0xFFFF) == 0 && (tag >>> 16) != 0xFFFE) {
            return UL;
        }
        return switch (tag) {
            case Tag.SamplesPerPixel, Tag.PlanarConfiguration, Tag.Rows, Tag.Columns,
                    Tag.BitsAllocated, Tag.BitsStored, Tag.HighBit, Tag.PixelRepresentation,
                    0x0018_1310, 0x0028_0106, 0x0028_0107, 0x0054_0081 -> US;
            case 0x0028_0009, 0x0020_5000 -> AT;
            case Tag.PixelData -> OW;
            default -> TEXT;
        };
    }
}
