/**
 * The study model: studies found in a folder, their series typed SAG_T1 / SAG_T2 / AX_T2, each
 * series split into stacks of slices with their geometry, and the volumes decoded from a stack.
 *
 * <p>Coordinates are DICOM patient coordinates (LPS, mm). A stack's slices share one orientation
 * and are ordered by position along the normal {@code rowCosine × columnCosine}; its voxels are
 * indexed {@code (slice, row, column)} like its volume {@code [slices, rows, columns]}.
 * PixelSpacing is (row spacing, column spacing): the step along a row, image x, is the second
 * value.
 *
 * <p>Naming: a study is its folder name and a series its folder name (or {@code S<number>}); no
 * patient identifier and no UID is kept in these values, their warnings or their errors: file
 * names and free text pass through {@link dev.lumbar.engine.Redaction} before they are shown.
 * Values are immutable once built and safe to share; volumes are owned by the caller.
 */
package dev.lumbar.engine.study;
