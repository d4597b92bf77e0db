package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.backend.cuda.CudaBackend;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Side;
import dev.lumbar.engine.spine.Target;
import dev.lumbar.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * Stage 2: cuts every member's bags, grades them, and combines the members into probabilities.
 *
 * <p>Per member, the targets it can see (located on its view) are cut per stack in one
 * {@link RoiSampler} call and graded in one batch; with flip test-time augmentation the bags
 * are graded again flipped left-right and the logits averaged. Per target, the members that
 * graded it are averaged with their weights, divided by the condition's temperature and turned
 * into probabilities by softmax. A target no member could grade takes the label priors.
 */
public final class EnsembleGrader {

    private final EnsembleManifest manifest;
    private final Networks networks;
    private final LabelPriors priors;

    public EnsembleGrader(EnsembleManifest manifest, Networks networks, LabelPriors priors) {
        this.manifest = manifest;
        this.networks = networks;
        this.priors = priors;
    }

    /**
     * The grades of one study, and the wall time of it spent cutting bags.
     *
     * @param targets       one entry per target, in {@link Target#ALL} order
     * @param samplingNanos time inside {@link RoiSampler#sample}, part of the whole grading
     */
    public record Grading(List<StudyResult.TargetResult> targets, long samplingNanos) {
    }

    public Grading grade(Localisation where, List<String> warnings) {
        Map<Target, List<StudyResult.MemberGrade>> grades = new LinkedHashMap<>();
        for (Target target : Target.ALL) {
            grades.put(target, new ArrayList<>());
        }
        List<Batch> batches = new ArrayList<>();
        for (Condition condition : Condition.ALL) {
            for (EnsembleManifest.Member member : manifest.plan(condition).members()) {
                batches.addAll(plan(condition, member, where, warnings));
            }
        }
        long samplingNanos = networks.bagDevice().isPresent()
                ? gradeOnDevice(networks.bagDevice().get(), batches, grades)
                : gradeOnHost(batches, grades);

        List<StudyResult.TargetResult> results = new ArrayList<>();
        List<String> fellBack = new ArrayList<>();
        for (Target target : Target.ALL) {
            List<StudyResult.MemberGrade> graded = grades.get(target);
            Location location = where.natural(target).orElse(null);
            if (graded.isEmpty()) {
                fellBack.add(target.kaggleName());
                results.add(new StudyResult.TargetResult(target, priors.of(target), true,
                        location, List.of()));
            } else {
                double temperature = manifest.plan(target.condition()).temperature();
                results.add(new StudyResult.TargetResult(target, combine(graded, temperature),
                        false, location, List.copyOf(graded)));
            }
        }
        if (!fellBack.isEmpty()) {
            warnings.add(fellBack.size() + " targets took the label priors (no member could"
                    + " grade them): " + String.join(", ", fellBack));
        }
        return new Grading(results, samplingNanos);
    }

    /** The targets of one member located on one stack: graded together as one batch. */
    private record Batch(EnsembleManifest.Member member, Networks.BagGrader grader, Stack stack,
            List<Target> targets, List<Location> locations, List<RoiTarget> rois) {
    }

    /** One member's batches, one per stack its targets were located on. */
    private List<Batch> plan(Condition condition, EnsembleManifest.Member member,
            Localisation where, List<String> warnings) {
        BagGeometry bag = member.bag();
        Networks.BagGrader grader = checkedGrader(member);

        // the member's targets grouped by the stack they were located on
        Map<Stack, List<Target>> byStack = new LinkedHashMap<>();
        Map<Target, Location> locations = new LinkedHashMap<>();
        int unlocated = 0;
        for (Level level : Level.ALL) {
            Target target = new Target(condition, level);
            Optional<Location> location = where.on(member.view(), target);
            if (location.isEmpty()) {
                unlocated++;
                continue;
            }
            locations.put(target, location.get());
            byStack.computeIfAbsent(location.get().stack(), k -> new ArrayList<>()).add(target);
        }
        if (unlocated > 0) {
            warnings.add("member " + member.name() + " cannot grade " + unlocated + " of 5 "
                    + condition.kaggleName() + " targets: not located on "
                    + member.view().description());
        }

        List<Batch> batches = new ArrayList<>();
        for (Map.Entry<Stack, List<Target>> entry : byStack.entrySet()) {
            List<Location> at = new ArrayList<>();
            List<RoiTarget> rois = new ArrayList<>();
            for (Target target : entry.getValue()) {
                Location location = locations.get(target);
                at.add(location);
                rois.add(new RoiTarget(location.slice(), location.x(), location.y(),
                        bag.level() ? location.discAngle(bag) : 0,
                        condition.side() == Side.LEFT));
            }
            batches.add(new Batch(member, grader, entry.getKey(), entry.getValue(), at, rois));
        }
        return batches;
    }

    /** Cuts each batch on the CPU and grades it; returns the nanoseconds spent cutting. */
    private long gradeOnHost(List<Batch> batches,
            Map<Target, List<StudyResult.MemberGrade>> grades) {
        long samplingNanos = 0;
        for (Batch batch : batches) {
            Networks.Grades graded;
            long cutStart = System.nanoTime();
            try (Tensor bags = RoiSampler.sample(batch.stack().volume(), batch.rois(),
                    batch.member().bag())) {
                samplingNanos += System.nanoTime() - cutStart;
                graded = batch.grader().grade(bags);
                if (batch.member().flipTta()) {
                    try (Tensor flipped = flipLeftRight(bags)) {
                        graded = average(graded, batch.grader().grade(flipped));
                    }
                }
            }
            fileGrades(batch, graded, grades);
        }
        return samplingNanos;
    }

    /**
     * Cuts every bag of the study on the device in one launch (flip test-time copies included)
     * and grades them there, so bags never return to the host; returns the nanoseconds spent
     * cutting, the stacks' upload included.
     */
    // LIMITATION: all of a study's bags are held on the device at once (members × targets ×
    // flips × S·C·h·w floats); a study whose bags do not fit fails with the device's
    // out-of-memory error (batch runs then grade it on the CPU) instead of being cut in parts;
    // and the cut runs outside the lock batch runs hold around grading on a shared device.
    private long gradeOnDevice(CudaBackend gpu, List<Batch> batches,
            Map<Target, List<StudyResult.MemberGrade>> grades) {
        List<DeviceBagSampler.Request> requests = new ArrayList<>();
        for (Batch batch : batches) {
            for (boolean flipped : batch.member().flipTta()
                    ? new boolean[] {false, true} : new boolean[] {false}) {
                for (RoiTarget roi : batch.rois()) {
                    requests.add(new DeviceBagSampler.Request(batch.stack().volume(), roi,
                            batch.member().bag(), flipped));
                }
            }
        }
        if (requests.isEmpty()) {
            return 0;
        }

        long cutStart = System.nanoTime();
        try (DeviceBagSampler.Cut cut = DeviceBagSampler.sample(gpu, requests)) {
            long samplingNanos = System.nanoTime() - cutStart;
            int next = 0;
            for (Batch batch : batches) {
                Networks.Grades graded = batch.grader().grade(batchOf(cut, next,
                        batch.rois().size()));
                next += batch.rois().size();
                if (batch.member().flipTta()) {
                    graded = average(graded, batch.grader().grade(batchOf(cut, next,
                            batch.rois().size())));
                    next += batch.rois().size();
                }
                fileGrades(batch, graded, grades);
            }
            return samplingNanos;
        }
    }

    /** Bags {@code [first, first + count)} of a cut as one {@code [T, S, C, h, w]} view. */
    private static Tensor batchOf(DeviceBagSampler.Cut cut, int first, int count) {
        Tensor head = cut.bags().get(first);
        long[] bag = head.shape();
        long bytes = head.byteSize() * count;
        return Tensor.wrap(head.segment().reinterpret(bytes), head.dtype(), head.device(),
                count, bag[0], bag[1], bag[2], bag[3]);
    }

    /** Files a batch's logits under its targets. */
    private static void fileGrades(Batch batch, Networks.Grades graded,
            Map<Target, List<StudyResult.MemberGrade>> grades) {
        EnsembleManifest.Member member = batch.member();
        BagGeometry bag = member.bag();
        for (int t = 0; t < batch.targets().size(); t++) {
            Target target = batch.targets().get(t);
            // LIMITATION: a member grades one target per bag (3 logits); heads that
            // answer several targets from one bag are refused here
            if (graded.logits()[t].length != 3) {
                throw new IllegalArgumentException("member " + member.name() + " answers "
                        + graded.logits()[t].length + " logits per bag; 3 severities"
                        + " expected");
            }
            Location at = batch.locations().get(t);
            int[] instances = new int[bag.slices()];
            for (int s = 0; s < instances.length; s++) {
                instances[s] = bag.channelSlices(at.slice(), s,
                        at.stack().slices())[(bag.channels() - 1) / 2];
            }
            grades.get(target).add(new StudyResult.MemberGrade(member.name(), member.view(),
                    member.weight(), at, instances, graded.logits()[t],
                    graded.attention() == null ? null : graded.attention()[t]));
        }
    }

    /**
     * Loads every network the manifest names and checks each member's bag against its card, so
     * that a broken ensemble fails before the first study.
     */
    public void loadAll() {
        for (SeriesType type : SeriesType.values()) {
            manifest.stage1(type).ifPresent(models -> {
                if (models.slices() != null) {
                    checkedStage1(type, "slices", models.slices(),
                            () -> networks.sliceScorer(models.slices()).targets());
                }
                if (models.points() != null) {
                    checkedStage1(type, "points", models.points(),
                            () -> networks.pointModel(models.points()).targets());
                }
            });
        }
        for (Condition condition : Condition.ALL) {
            for (EnsembleManifest.Member member : manifest.plan(condition).members()) {
                checkedGrader(member);
            }
        }
    }

    /**
     * Loads one stage-1 card and checks its head and target count against the conventions of
     * its series type, so that a card in the wrong slot fails here, naming the manifest.
     */
    private void checkedStage1(SeriesType type, String role, Path card, IntSupplier load) {
        String field = "stage1." + type.name() + "." + role;
        int expected = stage1Targets(type, role);
        String wanted = (role.equals("slices") ? "a slice_scorer" : "a keypoint") + " head with "
                + expected + " targets";
        int targets;
        try {
            targets = load.getAsInt();
        } catch (ManifestException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ManifestException(manifest.file(), field, "model card " + card
                    + " cannot serve: " + e.getMessage() + "; expected " + wanted);
        }
        if (targets != expected) {
            throw new ManifestException(manifest.file(), field, "model card " + card + " has "
                    + targets + " targets; expected " + wanted + stage1Meaning(type, role));
        }
    }

    /** How many targets a stage-1 model of this series type and role has (see the manifest). */
    static int stage1Targets(SeriesType type, String role) {
        int levels = Level.ALL.size();
        return switch (type) {
            case SAG_T1 -> role.equals("slices") ? 2 * levels : levels;
            case SAG_T2 -> levels;
            case AX_T2 -> 2;
        };
    }

    private static String stage1Meaning(SeriesType type, String role) {
        if (type == SeriesType.AX_T2) {
            return " (left and right subarticular zone)";
        }
        return type == SeriesType.SAG_T1 && role.equals("slices")
                ? " (left foramen at the 5 levels, then right)" : " (the 5 levels)";
    }

    private Networks.BagGrader checkedGrader(EnsembleManifest.Member member) {
        BagGeometry bag = member.bag();
        Networks.BagGrader grader = networks.grader(member.model());
        if ((grader.slices() != 0 && grader.slices() != bag.slices())
                || (grader.channels() != 0 && grader.channels() != bag.channels())) {
            throw new ManifestException(manifest.file(), "member " + member.name(),
                    "bag of " + bag.slices() + " slices x " + bag.channels() + " channels, but"
                    + " its model card expects " + grader.slices() + " x " + grader.channels());
        }
        return grader;
    }

    /** Weighted mean logits over members, over the temperature, through softmax. */
    static double[] combine(List<StudyResult.MemberGrade> graded, double temperature) {
        double[] logits = new double[3];
        double weights = 0;
        for (StudyResult.MemberGrade g : graded) {
            for (int k = 0; k < 3; k++) {
                logits[k] += g.weight() * g.logits()[k];
            }
            weights += g.weight();
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < 3; k++) {
            logits[k] /= weights * temperature;
            max = Math.max(max, logits[k]);
        }
        double sum = 0;
        double[] p = new double[3];
        for (int k = 0; k < 3; k++) {
            p[k] = Math.exp(logits[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < 3; k++) {
            p[k] /= sum;
        }
        return p;
    }

    private static Networks.Grades average(Networks.Grades a, Networks.Grades b) {
        float[][] logits = new float[a.logits().length][];
        for (int t = 0; t < logits.length; t++) {
            logits[t] = new float[a.logits()[t].length];
            for (int k = 0; k < logits[t].length; k++) {
                logits[t][k] = (a.logits()[t][k] + b.logits()[t][k]) / 2;
            }
        }
        float[][] attention = null;
        if (a.attention() != null && b.attention() != null) {
            attention = new float[a.attention().length][];
            for (int t = 0; t < attention.length; t++) {
                attention[t] = new float[a.attention()[t].length];
                for (int s = 0; s < attention[t].length; s++) {
                    attention[t][s] = (a.attention()[t][s] + b.attention()[t][s]) / 2;
                }
            }
        }
        return new Networks.Grades(logits, attention);
    }

    /** The bags mirrored along their width: {@code [T, S, C, h, w]} with w reversed. */
    static Tensor flipLeftRight(Tensor bags) {
        float[] values = bags.toFloatArray();
        int w = bags.size(-1);
        float[] flipped = new float[values.length];
        for (int row = 0; row < values.length; row += w) {
            for (int x = 0; x < w; x++) {
                flipped[row + x] = values[row + w - 1 - x];
            }
        }
        return Tensor.of(flipped, bags.shape());
    }
}
