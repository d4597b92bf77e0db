/**
 * DICOM Part 10 reading: the data set of one file and its decoded pixel data.
 *
 * <p>Entry point: {@link dev.lumbar.engine.dicom.DicomReader#standard()}. A {@code DicomObject}
 * holds the top-level elements of one file; values inside sequences are skipped, not exposed.
 * A {@code DicomImage} holds stored pixel values only (masked to BitsStored, sign-extended when
 * PixelRepresentation is 1, planes interleaved); modality rescale, VOI windows, palettes,
 * YBR-to-RGB conversion and MONOCHROME1 inversion are the caller's job.
 *
 * <p>Encodings: with or without the 128-byte preamble and the group 0002 meta header (without
 * one, the encoding is sniffed from the first element); implicit VR little endian, explicit VR
 * little and big endian, deflated explicit VR little endian. Pixel data: native 8/16/32-bit,
 * RLE Lossless (own decoder), JPEG baseline, extended and lossless (TwelveMonkeys), JPEG 2000
 * (jai-imageio). Other compressed syntaxes, JPEG-LS among them, raise
 * {@link dev.lumbar.engine.dicom.UnsupportedTransferSyntaxException}.
 *
 * <p>Invariants: every length is checked against the bytes left before anything is read or
 * allocated, and pixel arrays are reserved only once the data is known to hold the Rows x
 * Columns the header claims (native length, codestream size, RLE minimum); nesting is limited;
 * each call maps the file in its own confined arena and unmaps it before returning, so returned
 * objects never refer to the file. Every failure is a
 * {@link dev.lumbar.engine.dicom.DicomException} whose message names the file and the problem
 * and never a patient identifier. Returned objects are immutable and safe to share between
 * threads; a reader holds no state between files and may be used from several threads.
 */
package dev.lumbar.engine.dicom;
