package dev.lumbar.engine.phantom;

import dev.lumbar.engine.study.Vec3;

/**
 * A ground-truth point of the phantom: a disc level ({@code l1_l2} .. {@code l5_s1}), what it
 * marks, and where it lies in patient coordinates (mm).
 */
public record Landmark(String level, String target, Vec3 world) {

    public static final String DISC_CENTER = "disc_center";
    public static final String SPINAL_CANAL = "spinal_canal";
    public static final String LEFT_FORAMEN = "left_foramen";
    public static final String RIGHT_FORAMEN = "right_foramen";
    public static final String LEFT_SUBARTICULAR = "left_subarticular";
    public static final String RIGHT_SUBARTICULAR = "right_subarticular";
}
