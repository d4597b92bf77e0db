package dev.lumbar.engine.phantom;

/**
 * The tissues the phantom draws, with a mean signal per weighting. T1: fat and marrow bright,
 * fluid dark. T2: fluid and the disc nucleus bright, marrow intermediate. Units are stored
 * values of a 12-bit image before noise.
 */
enum Tissue {
    AIR(0, 0),
    SUBCUTANEOUS_FAT(950, 700),
    MUSCLE(380, 260),
    MARROW(720, 430),
    ENDPLATE(160, 140),
    ANNULUS(380, 330),
    NUCLEUS(420, 1050),
    CSF(220, 1250),
    NERVE(360, 480),
    FORAMINAL_FAT(880, 640),
    POSTERIOR_ELEMENTS(600, 380),
    LIGAMENT(180, 160);

    private final int t1;
    private final int t2;

    Tissue(int t1, int t2) {
        this.t1 = t1;
        this.t2 = t2;
    }

    int signal(boolean t2Weighted) {
        return t2Weighted ? t2 : t1;
    }
}
