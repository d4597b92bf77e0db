package dev.lumbar.engine.spine;

/** The patient's side a condition is graded on; the spinal canal is central. */
public enum Side {
    LEFT,
    RIGHT,
    CENTRAL;

    /** The other side; central stays central. */
    public Side mirrored() {
        return switch (this) {
            case LEFT -> RIGHT;
            case RIGHT -> LEFT;
            case CENTRAL -> CENTRAL;
        };
    }
}
