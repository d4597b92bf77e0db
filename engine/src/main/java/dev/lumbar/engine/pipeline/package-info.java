/**
 * The two-stage pipeline: from a study's stacks to 25 graded targets.
 *
 * <p>{@link dev.lumbar.engine.pipeline.Localiser} (stage 1) finds every target's slice and
 * point: slice scorers and point models on the sagittal stacks, the projection of each level's
 * sagittal point onto the nearest axial slice ({@link dev.lumbar.engine.pipeline.AxialAssignment})
 * and a point model there. {@link dev.lumbar.engine.pipeline.RoiSampler} cuts the bags around
 * those points on the CPU, or, when the networks run on a CUDA device,
 * {@link dev.lumbar.engine.pipeline.DeviceBagSampler} cuts all of a study's bags there in one
 * launch with the same coordinates; and {@link dev.lumbar.engine.pipeline.EnsembleGrader}
 * (stage 2) grades them with the members an
 * {@link dev.lumbar.engine.pipeline.EnsembleManifest} lists, falling back to
 * {@link dev.lumbar.engine.pipeline.LabelPriors} where no member can serve.
 *
 * <p>Invariants: points are in original pixels with pixel centres at integers (the Kaggle
 * convention), slices are indices in stack order (position along the normal, never file name
 * or InstanceNumber), world points are DICOM LPS millimetres. Bags cross into the networks as
 * {@code [T, S, C, h, w]} F32 tensors: on the CPU, which the networks behind
 * {@link dev.lumbar.engine.pipeline.Networks} upload to their backend, or already on the device
 * {@link dev.lumbar.engine.pipeline.Networks#bagDevice()} names, graded where they are.
 * Volumes belong to whoever loaded them ({@link dev.lumbar.engine.pipeline.StudyStacks}); the
 * pipeline only reads them. One study at a time per
 * {@link dev.lumbar.engine.pipeline.StudyPredictor}: the networks are loaded lazily and are not
 * thread-safe.
 */
package dev.lumbar.engine.pipeline;
