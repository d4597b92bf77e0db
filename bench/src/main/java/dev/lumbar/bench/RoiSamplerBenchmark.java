package dev.lumbar.bench;

import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Backends;
import dev.lumbar.engine.dicom.DicomReader;
import dev.lumbar.engine.pipeline.BagGeometry;
import dev.lumbar.engine.pipeline.CardNetworks;
import dev.lumbar.engine.pipeline.EnsembleManifest;
import dev.lumbar.engine.pipeline.LabelPriors;
import dev.lumbar.engine.pipeline.Location;
import dev.lumbar.engine.pipeline.RoiSampler;
import dev.lumbar.engine.pipeline.RoiTarget;
import dev.lumbar.engine.pipeline.Stack;
import dev.lumbar.engine.pipeline.StudyPredictor;
import dev.lumbar.engine.pipeline.StudyResult;
import dev.lumbar.engine.pipeline.StudyStacks;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Side;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.study.SeriesDescriptions;
import dev.lumbar.engine.study.Study;
import dev.lumbar.engine.study.StudyException;
import dev.lumbar.engine.study.StudyScanner;
import dev.lumbar.engine.study.VolumeLoader;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@link RoiSampler} cutting every bag of the bundled demo study, as stage 2 does: per member
 * and stack, one call for the member's targets there. The points come from running the demo
 * ensemble's stage 1 once during set-up, so the bags are the ones {@code lumbar predict} cuts
 * (without the flipped copies of flip test-time augmentation, which are a separate copy).
 *
 * <p>Memory-bound on the output side: counted as the bags written, {@code T·S·C·h·w·4} bytes
 * per call, against the triad; the report adds bags per second. Run from the repository root
 * (the demo is found at {@code weights/demo}), or set the {@code demo} parameter.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class RoiSamplerBenchmark {

    @Param({"2"})
    public int threads;

    @Param({"weights/demo"})
    public String demo;

    /** One sampler call: a stack, the targets on it, how their bags are cut. */
    private record Job(Stack stack, List<RoiTarget> targets, BagGeometry geometry) {
    }

    private final List<Job> jobs = new ArrayList<>();
    private StudyStacks stacks;

    @Setup(Level.Trial)
    public void setUp() throws StudyException {
        Path root = Path.of(demo);
        EnsembleManifest manifest = EnsembleManifest.read(root.resolve("demo.ensemble.json"));
        List<Study> studies = new StudyScanner(DicomReader.standard(), SeriesDescriptions.none())
                .scan(root.resolve("study")).studies();
        if (studies.size() != 1) {
            throw new IllegalStateException(root + "/study holds " + studies.size()
                    + " studies; the benchmark expects the one demo study");
        }
        Study study = studies.getFirst();
        List<String> warnings = new ArrayList<>();
        stacks = StudyStacks.load(study, new VolumeLoader(DicomReader.standard()), warnings);
        StudyResult result;
        try (Backend backend = Backends.open("cpu", threads);
                CardNetworks networks = new CardNetworks(backend)) {
            result = new StudyPredictor(manifest, networks, LabelPriors.uniform())
                    .predict(study.id(), stacks.stacks(), List.of(), warnings);
        }
        for (Condition condition : Condition.ALL) {
            for (EnsembleManifest.Member member : manifest.plan(condition).members()) {
                Map<Stack, List<RoiTarget>> byStack = new LinkedHashMap<>();
                for (Target target : Target.ALL) {
                    if (target.condition() != condition) {
                        continue;
                    }
                    for (StudyResult.MemberGrade grade : result.target(target).grades()) {
                        if (!grade.member().equals(member.name())) {
                            continue;
                        }
                        Location at = grade.location();
                        BagGeometry bag = member.bag();
                        byStack.computeIfAbsent(at.stack(), k -> new ArrayList<>())
                                .add(new RoiTarget(at.slice(), at.x(), at.y(),
                                        bag.level() ? at.discAngle(bag) : 0,
                                        condition.side() == Side.LEFT));
                    }
                }
                byStack.forEach((stack, targets) ->
                        jobs.add(new Job(stack, targets, member.bag())));
            }
        }
        if (jobs.isEmpty()) {
            throw new IllegalStateException("the demo ensemble located no target to cut");
        }
        bytesPerCall = 0;
        bagsPerCall = 0;
        for (Job job : jobs) {
            BagGeometry g = job.geometry();
            bagsPerCall += job.targets().size();
            bytesPerCall += (double) job.targets().size() * g.slices() * g.channels()
                    * g.outRows() * g.outCols() * Float.BYTES;
        }
        System.out.printf("%n%d sampler calls, %d bags, %.1f MB of bags per pass%n",
                jobs.size(), bagsPerCall, bytesPerCall / 1e6);
    }

    private double bytesPerCall;
    private int bagsPerCall;

    /**
     * What the passes cut, summed per iteration; the report divides by {@code passes}, so the
     * sizes reach it from the benchmark's own JVM.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Output {
        public long passes;
        public long bags;
        public double bytes;

        @Setup(Level.Iteration)
        public void reset() {
            passes = 0;
            bags = 0;
            bytes = 0;
        }
    }

    // LIMITATION: the sampler is single-threaded, so the threads parameter only reaches the
    // set-up's stage-1 run; flip test-time augmentation's mirrored copies are not timed.
    @Benchmark
    public float allBags(Output output) {
        output.passes++;
        output.bags += bagsPerCall;
        output.bytes += bytesPerCall;
        float sink = 0;
        for (Job job : jobs) {
            try (Tensor bags = RoiSampler.sample(job.stack().volume(), job.targets(),
                    job.geometry())) {
                sink += bags.getFloat(0);
            }
        }
        return sink;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        stacks.close();
    }
}
