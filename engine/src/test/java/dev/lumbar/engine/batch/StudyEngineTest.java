package dev.lumbar.engine.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.bindings.CudaException;
import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.phantom.PhantomGenerator;
import dev.lumbar.engine.phantom.PhantomOptions;
import dev.lumbar.engine.phantom.PhantomWriter;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.pipeline.StudyStacks;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A study the GPU cannot hold is graded on the CPU, with the same answer and a warning. */
class StudyEngineTest {

    private static final Path DEMO = Path.of("..", "weights", "demo", "demo.ensemble.json");

    @TempDir
    Path studies;

    /**
     * A "GPU" that computes on the CPU but runs out of memory on every convolution, as the CUDA
     * driver reports it.
     */
    private static final class OutOfMemoryGpu implements Backend {
        final CpuBackend cpu;
        int refused;

        OutOfMemoryGpu(CpuBackend cpu) {
            this.cpu = cpu;
        }

        @Override
        public String name() {
            return "simulated gpu";
        }

        @Override
        public Device device() {
            return Device.cuda(0);
        }

        @Override
        public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec,
                Activation act) {
            refused++;
            throw new CudaException("cuMemAlloc_v2(268435456 bytes)", 2,
                    "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        }

        @Override
        public Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
                Tensor expandWeight, Tensor expandBias, Activation act) {
            return cpu.squeezeExcite(x, reduceWeight, reduceBias, expandWeight, expandBias, act);
        }

        @Override
        public Tensor upload(Tensor host) {
            return cpu.upload(host);
        }

        @Override
        public Tensor download(Tensor tensor) {
            return cpu.download(tensor);
        }

        @Override
        public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
            return cpu.linear(x, weight, bias, act);
        }

        @Override
        public Tensor matmul(Tensor a, Tensor b) {
            return cpu.matmul(a, b);
        }

        @Override
        public Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
            return cpu.layerNormLastDim(x, gamma, beta, eps);
        }

        @Override
        public Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
            return cpu.layerNormChannels(x, gamma, beta, eps);
        }

        @Override
        public Tensor activate(Tensor x, Activation act) {
            return cpu.activate(x, act);
        }

        @Override
        public Tensor add(Tensor a, Tensor b) {
            return cpu.add(a, b);
        }

        @Override
        public Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
            return cpu.scaleChannels(x, scale, residual);
        }

        @Override
        public Tensor globalAvgPool(Tensor x) {
            return cpu.globalAvgPool(x);
        }

        @Override
        public Tensor globalMaxPool(Tensor x) {
            return cpu.globalMaxPool(x);
        }

        @Override
        public Tensor softmax(Tensor x) {
            return cpu.softmax(x);
        }

        @Override
        public void close() {
            cpu.close();
        }
    }

    @Test
    void aStudyTheGpuCannotHoldIsGradedOnTheCpuAndSaysSo() throws Exception {
        PhantomWriter.write(PhantomGenerator.generate(PhantomOptions.of(3)
                .withStudyId("3003")), studies);
        Study study = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(studies).studies().getFirst();
        EnsembleManifest manifest = EnsembleManifest.read(DEMO);
        LabelPriors priors = manifest.priors() == null ? LabelPriors.uniform()
                : LabelPriors.read(manifest.priors());

        try (CpuBackend cpu = new CpuBackend(1);
                CpuBackend fallback = new CpuBackend(1);
                OutOfMemoryGpu gpu = new OutOfMemoryGpu(new CpuBackend(1));
                StudyStacks stacks = StudyStacks.load(study,
                        new VolumeLoader(DicomReader.standard()), new ArrayList<>());
                StudyEngine onCpu = new StudyEngine(manifest, priors, cpu, null);
                StudyEngine onGpu = new StudyEngine(manifest, priors, gpu, () -> fallback)) {
            onCpu.loadAll();
            onGpu.loadAll();
            StudyResult expected = onCpu.predict("3003", stacks.stacks(), List.of(),
                    List.of()).result();
            StudyEngine.Graded graded = onGpu.predict("3003", stacks.stacks(), List.of(),
                    List.of());

            assertSame(fallback, graded.backend());
            for (int t = 0; t < expected.targets().size(); t++) {
                assertArrayEquals(expected.targets().get(t).probabilities(),
                        graded.result().targets().get(t).probabilities(), 1e-6);
            }
            assertTrue(graded.result().warnings().contains("the GPU ran out of memory even in"
                    + " smaller batches; this study was graded on the CPU backend instead"),
                    graded.result().warnings().toString());
            assertTrue(gpu.refused > 0);
        }
    }

    /**
     * NaN in a probability, a member's logits or its attention refuses the study with the
     * target named, instead of grading it; finite values, and heads without attention, pass.
     */
    @Test
    void aResultThatIsNotFiniteIsRefusedNamingTheTarget() {
        Target target = new Target(Condition.SPINAL_CANAL_STENOSIS, Level.L4_L5);
        float[] logits = {0.1f, 0.2f, 0.3f};
        double[] probabilities = {0.5, 0.3, 0.2};
        StudyEngine.requireFinite(result(target, probabilities, logits, null));
        StudyEngine.requireFinite(result(target, probabilities, logits, new float[] {1f}));

        IllegalStateException nanProbability = assertThrows(IllegalStateException.class,
                () -> StudyEngine.requireFinite(result(target, new double[] {Double.NaN, 0, 0},
                        logits, null)));
        assertTrue(nanProbability.getMessage().startsWith("target " + target
                + ": its probabilities are not finite"), nanProbability.getMessage());
        IllegalStateException infiniteLogit = assertThrows(IllegalStateException.class,
                () -> StudyEngine.requireFinite(result(target, probabilities,
                        new float[] {0, Float.POSITIVE_INFINITY, 0}, null)));
        assertTrue(infiniteLogit.getMessage().contains("model spinal's logits or attention"),
                infiniteLogit.getMessage());
        assertThrows(IllegalStateException.class, () -> StudyEngine.requireFinite(
                result(target, probabilities, logits, new float[] {Float.NaN})));
    }

    private static StudyResult result(Target target, double[] probabilities, float[] logits,
            float[] attention) {
        StudyResult.MemberGrade grade = new StudyResult.MemberGrade("spinal", SeriesType.SAG_T2,
                1, null, new int[] {3}, logits, attention);
        return new StudyResult("1", List.of(new StudyResult.TargetResult(target, probabilities,
                false, null, List.of(grade))), List.of(), List.of(), 0, 0, 0);
    }
}
