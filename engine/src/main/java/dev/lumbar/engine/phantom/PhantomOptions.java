package dev.lumbar.engine.phantom;

import java.util.Objects;

/**
 * What the phantom generator makes: everything follows from {@code seed} except what is given
 * explicitly.
 *
 * @param seed drives anatomy, geometry jitter, noise and identifiers
 * @param studyId the study folder name; null draws a Kaggle-like number from the seed
 * @param patient the identifying tags written into every file
 * @param rescaleSlope RescaleSlope written into every file (stored = (value - intercept) / slope)
 * @param rescaleIntercept RescaleIntercept written into every file
 */
public record PhantomOptions(long seed, String studyId, PatientTags patient, double rescaleSlope,
        double rescaleIntercept) {

    public PhantomOptions {
        Objects.requireNonNull(patient, "patient");
        if (!(rescaleSlope > 0)) {
            throw new IllegalArgumentException("rescale slope must be positive");
        }
        if (studyId != null && (!studyId.matches("[A-Za-z0-9_.-]+")
                || studyId.startsWith("."))) {
            throw new IllegalArgumentException("study id must be a plain folder name: ASCII"
                    + " letters, digits, '_', '-' and '.', not starting with '.' (e.g. 4003253)");
        }
    }

    /** Fake patient tags from the seed, no rescaling. */
    public static PhantomOptions of(long seed) {
        return new PhantomOptions(seed, null, PatientTags.fake(seed), 1, 0);
    }

    public PhantomOptions withStudyId(String id) {
        return new PhantomOptions(seed, id, patient, rescaleSlope, rescaleIntercept);
    }

    public PhantomOptions withPatient(PatientTags tags) {
        return new PhantomOptions(seed, studyId, tags, rescaleSlope, rescaleIntercept);
    }

    public PhantomOptions withRescale(double slope, double intercept) {
        return new PhantomOptions(seed, studyId, patient, slope, intercept);
    }
}
