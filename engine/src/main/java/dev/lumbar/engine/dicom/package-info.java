/**
 * DICOM Part 10 reading: the data set of one file and its decoded pixel data.
 *
 * <p>Entry point: {@link dev.lumbar.engine.dicom.DicomReader#standard()}. A {@code DicomObject}
 * holds the top-level elements of one file; values inside sequences are skipped, not exposed.
 * A {@code DicomImage} holds stored pixel values only (masked to BitsStored, sign-extended when
 * PixelRepresentation is 1); modality rescale and MONOCHROME1 inversion are the caller's job.
 *
 * <p>Every failure is a {@link dev.lumbar.engine.dicom.DicomException} whose message names the
 * file and the problem and never a patient identifier. Objects are immutable once returned and
 * safe to share between threads; a reader holds no state between files.
 */
package dev.lumbar.engine.dicom;
