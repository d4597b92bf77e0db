/**
 * What a run leaves behind: the Kaggle submission CSV ({@link
 * dev.lumbar.engine.report.SubmissionWriter}) and one JSON report per study ({@link
 * dev.lumbar.engine.report.StudyReport}).
 *
 * <p>Both are replaced atomically: bytes go to a temporary file in the target's folder, are
 * forced to disk and renamed over the target, so a crash leaves the previous file or the new
 * one, never half of either. A long batch appends each finished study to a journal beside the
 * submission and forces it, so a crash loses at most the study in progress and a rerun resumes.
 *
 * <p>No patient identifier goes into either output: a study and its series are named by their
 * folders (Kaggle's anonymised ids), never by DICOM UIDs, names or dates; a name that looks
 * like a DICOM UID is withheld and replaced by a neutral one. Report records are plain values;
 * {@code toMap()} turns them into the ordered maps and lists {@link dev.lumbar.engine.io.Json}
 * writes.
 */
package dev.lumbar.engine.report;
