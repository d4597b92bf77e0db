package dev.lumbar.engine.study;

import java.nio.file.Path;

/**
 * One image file of a series: where it is, its InstanceNumber (0 when absent), and its geometry.
 * {@code geometryKnown} is false when the file had no ImagePositionPatient or
 * ImageOrientationPatient and the geometry is a stand-in (see {@link StackSplitter}).
 * {@code frameOfReference} is its FrameOfReferenceUID, or null; it is compared, never shown.
 */
public record Slice(Path file, int instanceNumber, SliceGeometry geometry,
        boolean geometryKnown, String frameOfReference) {

    /** A slice whose file names no frame of reference. */
    public Slice(Path file, int instanceNumber, SliceGeometry geometry, boolean geometryKnown) {
        this(file, instanceNumber, geometry, geometryKnown, null);
    }
}
