package dev.lumbar.engine.batch;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.pipeline.CardNetworks;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.GivenCoordinates;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.Stack;
import dev.lumbar.engine.pipeline.StudyPredictor;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.report.ModelFingerprint;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * An ensemble loaded once on one backend and shared by every study of a batch, from any number
 * of study threads. Each study gets its own {@link StudyPredictor} over a
 * {@link ResilientNetworks} view; the networks are loaded by {@link #loadAll()} before the first
 * study and only read afterwards, so the views need no lock on a CPU backend.
 *
 * <p>On a GPU, a study that runs the device out of memory although its bags were split is graded
 * again on the CPU backend that {@code cpuOpener} opens on first need; the report's warnings and
 * the log say so, and {@link Graded#backend()} names the CPU backend.
 */
public final class StudyEngine implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(StudyEngine.class.getName());

    /** A graded study and the backend that graded it. */
    public record Graded(StudyResult result, Backend backend) {
    }

    private final EnsembleManifest manifest;
    private final LabelPriors priors;
    private final Backend backend;
    private final CardNetworks networks;
    private final Lock deviceLock;
    private final Supplier<Backend> cpuOpener;

    private Backend cpuBackend;
    private CardNetworks cpuNetworks;

    /**
     * @param backend   the backend to run on; the caller keeps owning it
     * @param cpuOpener opens the CPU backend for studies the GPU cannot hold; null for none
     */
    public StudyEngine(EnsembleManifest manifest, LabelPriors priors, Backend backend,
            Supplier<Backend> cpuOpener) {
        this.manifest = manifest;
        this.priors = priors;
        this.backend = backend;
        this.networks = new CardNetworks(new DeadlineBackend(backend));
        this.deviceLock = backend.device().isCpu() ? null : new ReentrantLock(true);
        this.cpuOpener = cpuOpener;
    }

    /** Loads and checks every network now; a broken ensemble fails here, before any study. */
    public void loadAll() {
        new StudyPredictor(manifest, networks, priors).loadAll();
    }

    public Backend backend() {
        return backend;
    }

    /** Names of the loaded networks, in load order. */
    public List<String> loadedModels() {
        return networks.loadedModels();
    }

    /** Name and weights hash of every loaded network. */
    public List<ModelFingerprint> fingerprints() throws IOException {
        return networks.fingerprints();
    }

    /**
     * Grades one study; safe to call from several threads at once.
     *
     * @see StudyPredictor#predict
     */
    public Graded predict(String studyId, List<Stack> stacks, List<GivenCoordinates.Point> given,
            List<String> warnings) {
        try {
            return new Graded(run(networks, deviceLock, studyId, stacks, given, warnings),
                    backend);
        } catch (RuntimeException e) {
            if (backend.device().isCpu() || cpuOpener == null || !DeviceOutOfMemory.is(e)) {
                throw e;
            }
            LOG.log(System.Logger.Level.WARNING, "the GPU ran out of memory on a study; grading"
                    + " it on the CPU backend instead");
            List<String> notes = new ArrayList<>(warnings);
            notes.add("the GPU ran out of memory even in smaller batches; this study was graded"
                    + " on the CPU backend instead");
            CardNetworks fallback = cpuNetworks();
            return new Graded(run(fallback, null, studyId, stacks, given, notes), cpuBackend);
        }
    }

    private StudyResult run(CardNetworks on, Lock lock, String studyId, List<Stack> stacks,
            List<GivenCoordinates.Point> given, List<String> warnings) {
        ResilientNetworks view = new ResilientNetworks(on, lock);
        StudyResult result = new StudyPredictor(manifest, view, priors).predict(studyId, stacks,
                given, warnings);
        requireFinite(result);
        if (view.notes().isEmpty()) {
            return result;
        }
        List<String> notes = new ArrayList<>(result.warnings());
        notes.addAll(view.notes());
        return new StudyResult(result.studyId(), result.targets(), result.stacks(),
                List.copyOf(notes), result.stage1Millis(), result.stage2Millis(),
                result.samplingMillis());
    }

    /**
     * Refuses a result with a probability, logit or attention weight that is not a finite
     * number: NaN or infinity in a model's weights or in a bag's pixels would otherwise be
     * graded as a result, and no report could hold it.
     */
    static void requireFinite(StudyResult result) {
        for (StudyResult.TargetResult target : result.targets()) {
            String problem = null;
            for (double p : target.probabilities()) {
                if (!Double.isFinite(p)) {
                    problem = "its probabilities";
                }
            }
            for (StudyResult.MemberGrade grade : target.grades()) {
                if (!allFinite(grade.logits()) || !allFinite(grade.attention())) {
                    problem = "model " + grade.member() + "'s logits or attention";
                }
            }
            if (problem != null) {
                throw new IllegalStateException("target " + target.target() + ": " + problem
                        + " are not finite numbers (NaN or infinity); the model's weights or"
                        + " the images' pixel values hold such values");
            }
        }
    }

    private static boolean allFinite(float[] values) {
        if (values != null) {
            for (float v : values) {
                if (!Float.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The CPU networks, opened and loaded on first need. */
    private synchronized CardNetworks cpuNetworks() {
        if (cpuNetworks == null) {
            Backend cpu = cpuOpener.get();
            CardNetworks loaded = new CardNetworks(new DeadlineBackend(cpu));
            try {
                new StudyPredictor(manifest, loaded, priors).loadAll();
            } catch (RuntimeException e) {
                loaded.close();
                cpu.close();
                throw e;
            }
            cpuBackend = cpu;
            cpuNetworks = loaded;
        }
        return cpuNetworks;
    }

    @Override
    public synchronized void close() {
        networks.close();
        if (cpuNetworks != null) {
            cpuNetworks.close();
            cpuBackend.close();
        }
    }
}
