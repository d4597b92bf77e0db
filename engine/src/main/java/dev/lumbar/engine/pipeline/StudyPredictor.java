package dev.lumbar.engine.pipeline;

import java.util.ArrayList;
import java.util.List;

/**
 * The two stages for one study: {@link Localiser} then {@link EnsembleGrader}. Holds no state
 * between studies beyond the networks, which are loaded on first use.
 */
public final class StudyPredictor {

    private final Localiser localiser;
    private final EnsembleGrader grader;

    public StudyPredictor(EnsembleManifest manifest, Networks networks, LabelPriors priors) {
        this.localiser = new Localiser(manifest, networks);
        this.grader = new EnsembleGrader(manifest, networks, priors);
    }

    /** Loads and checks every network of the ensemble now rather than on first use. */
    public void loadAll() {
        grader.loadAll();
    }

    /**
     * Grades one study.
     *
     * @param studyId  the study's folder name
     * @param stacks   its stacks (their volumes stay owned by the caller)
     * @param given    points given for it in a coordinates file (empty: stage 1 runs)
     * @param warnings what went wrong before (reading, typing); the result adds its own
     */
    public StudyResult predict(String studyId, List<Stack> stacks,
            List<GivenCoordinates.Point> given, List<String> warnings) {
        List<String> notes = new ArrayList<>(warnings);

        long start = System.nanoTime();
        Localisation where = localiser.locate(stacks, given, notes);
        long located = System.nanoTime();
        EnsembleGrader.Grading grading = grader.grade(where, notes);
        long graded = System.nanoTime();

        return new StudyResult(studyId, grading.targets(), List.copyOf(stacks),
                List.copyOf(notes), (located - start) / 1_000_000, (graded - located) / 1_000_000,
                grading.samplingNanos() / 1e6);
    }
}
