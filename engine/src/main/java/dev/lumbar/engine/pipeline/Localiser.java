package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.Redaction;
import dev.lumbar.engine.spine.Condition;
import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Side;
import dev.lumbar.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Stage 1: finds the slice and point of every target.
 * <ul>
 * <li>Sagittal T2: the slice scorer picks each level's slice, the point model places the level's
 *     point in the spinal canal on that slice.</li>
 * <li>Sagittal T1: the slice scorer picks a slice per level for the left foramen (targets 0–4)
 *     and for the right (5–9); the point model places the level on each.</li>
 * <li>Axial T2: each level's sagittal T2 point is carried into patient space and the nearest
 *     axial slice taken ({@link AxialAssignment}); the point's foot there is the canal, and the
 *     point model places the left and right subarticular zones on that slice. A slice farther
 *     from the point than its stack's reach ({@link StackGeometry#reachMm()}), or a foot
 *     outside the image, is no slice of the level's: its axial targets fall back, with a
 *     warning.</li>
 * </ul>
 * Points given in a coordinates file replace the models for their targets. Point models answer
 * (x / W, y / H) with 0 and 1 at the image's outer edges, so pixel x = x/W · cols − 0.5.
 */
public final class Localiser {

    private final EnsembleManifest manifest;
    private final Networks networks;

    public Localiser(EnsembleManifest manifest, Networks networks) {
        this.manifest = manifest;
        this.networks = networks;
    }

    /** Locates the targets of one study; problems that leave targets unlocated are warnings. */
    public Localisation locate(List<Stack> stacks, List<GivenCoordinates.Point> given,
            List<String> warnings) {
        Localisation found = new Localisation();
        placeGiven(stacks, given, found, warnings);

        Optional<Stack> sagT2 = first(stacks, SeriesType.SAG_T2, warnings);
        if (sagT2.isPresent() && found.canal.size() < Level.ALL.size()) {
            locateSagittal(sagT2.get(), 1, found.canal, null, warnings);
        }
        Optional<Stack> sagT1 = first(stacks, SeriesType.SAG_T1, warnings);
        if (sagT1.isPresent() && (found.leftForamen.size() < Level.ALL.size()
                || found.rightForamen.size() < Level.ALL.size())) {
            locateSagittal(sagT1.get(), 2, found.leftForamen, found.rightForamen, warnings);
        }
        addSpineDirections(found.canal);
        addSpineDirections(found.leftForamen);
        addSpineDirections(found.rightForamen);

        List<Stack> axial = stacks.stream().filter(s -> s.type() == SeriesType.AX_T2).toList();
        if (axial.isEmpty()) {
            warnings.add("no axial T2 series: targets graded on axial slices cannot be located");
        } else {
            locateAxial(axial, found, warnings);
        }
        return found;
    }

    // LIMITATION: of several sagittal stacks of one type only the first is localised; the
    // others are listed in the report but never graded.
    private static Optional<Stack> first(List<Stack> stacks, SeriesType type,
            List<String> warnings) {
        List<Stack> ofType = stacks.stream().filter(s -> s.type() == type).toList();
        if (ofType.isEmpty()) {
            warnings.add("no " + type.description() + " series: targets located on it cannot be"
                    + " graded from it");
            return Optional.empty();
        }
        if (ofType.size() > 1) {
            warnings.add(ofType.size() + " " + type.description() + " stacks; the first (series "
                    + ofType.getFirst().seriesId() + ") is used");
        }
        return Optional.of(ofType.getFirst());
    }

    /**
     * Runs the slice scorer and the point model of a sagittal stack. With {@code sides} 1 the
     * scorer has 5 targets (the levels) and fills {@code first}; with 2 it has 10 (left levels,
     * then right) and fills {@code first} (left) and {@code second} (right). Levels already
     * located (given coordinates) are kept.
     */
    private void locateSagittal(Stack stack, int sides, Map<Level, Location> first,
            Map<Level, Location> second, List<String> warnings) {
        SeriesType type = stack.type();
        Optional<EnsembleManifest.Stage1Models> models = manifest.stage1(type);
        if (models.isEmpty() || models.get().slices() == null || models.get().points() == null) {
            warnings.add("the ensemble has no slice scorer and point model for "
                    + type.description() + ": its targets are not located");
            return;
        }
        Networks.SliceScorer scorer = networks.sliceScorer(models.get().slices());
        Networks.PointModel points = networks.pointModel(models.get().points());
        BagGeometry.ChannelMode channels = models.get().channelMode();
        int levels = Level.ALL.size();
        if (scorer.targets() != sides * levels || points.targets() != levels) {
            throw new IllegalArgumentException(type.description() + " stage-1 models must have "
                    + sides * levels + " slice targets and " + levels + " point targets, have "
                    + scorer.targets() + " and " + points.targets());
        }

        // every slice scored, one pick per target
        Networks.SlicePicks picks;
        try (Tensor images = wholeSlices(stack, scorer.input().withChannelMode(channels),
                allSlices(stack))) {
            picks = scorer.score(images.reshape(stack.slices(), scorer.input().channels(),
                    scorer.input().rows(), scorer.input().cols()));
        }

        // the point model on each picked slice
        TreeSet<Integer> picked = new TreeSet<>();
        for (int slice : picks.slice()) {
            picked.add(slice);
        }
        Map<Integer, float[][]> pointsOnSlice = locatePoints(stack, points,
                points.input().withChannelMode(channels), picked);
        for (int side = 0; side < sides; side++) {
            Map<Level, Location> into = side == 0 ? first : second;
            for (Level level : Level.ALL) {
                int target = side * levels + level.ordinal();
                if (into.containsKey(level)) {
                    continue;
                }
                int slice = picks.slice()[target];
                float[] p = pointsOnSlice.get(slice)[level.ordinal()];
                into.put(level, new Location(stack, slice, p[0] * stack.cols() - 0.5,
                        p[1] * stack.rows() - 0.5, 0, 0, picks.confidence()[target],
                        "slice scorer and point model", Double.NaN));
            }
        }
    }

    private void locateAxial(List<Stack> axial, Localisation found, List<String> warnings) {
        int withoutPoint = 0;
        Map<String, List<String>> refused = new LinkedHashMap<>();
        for (Level level : Level.ALL) {
            Location sagittal = found.canal.get(level);
            if (found.axialCanal.containsKey(level)) {
                continue;
            }
            if (sagittal == null) {
                withoutPoint++;
                continue;
            }
            List<Stack> usable = usableAxial(sagittal.stack(), axial, level, refused);
            if (!usable.isEmpty()) {
                double[] world = sagittal.stack().geometry()
                        .pixelToWorld(sagittal.slice(), sagittal.x(), sagittal.y());
                projected(level, world, usable, warnings)
                        .ifPresent(canal -> found.axialCanal.put(level, canal));
            }
        }
        refused.forEach((why, levels) -> warnings.add(levels.isEmpty() ? why : why
                + "; the axial targets of " + String.join(", ", levels) + " fall back"));
        if (found.axialCanal.size() < Level.ALL.size()) {
            warnings.add("axial slices found for " + found.axialCanal.size() + " of 5 levels"
                    + (withoutPoint == 0 ? "" : " (" + withoutPoint + " without a sagittal T2"
                    + " point)") + "; the others' axial targets fall back");
        }

        boolean sidesMissing = Level.ALL.stream().anyMatch(l -> found.axialCanal.containsKey(l)
                && (!found.leftSubarticular.containsKey(l)
                        || !found.rightSubarticular.containsKey(l)));
        if (!sidesMissing) {
            return;
        }
        Optional<EnsembleManifest.Stage1Models> models = manifest.stage1(SeriesType.AX_T2);
        if (models.isEmpty() || models.get().points() == null) {
            warnings.add("the ensemble has no axial point model: subarticular points are not"
                    + " located");
            return;
        }
        Networks.PointModel points = networks.pointModel(models.get().points());
        if (points.targets() != 2) {
            throw new IllegalArgumentException("the axial point model must have 2 targets (left,"
                    + " right), has " + points.targets());
        }
        // one model run per axial stack, on the slices assigned to its levels
        Map<Stack, TreeSet<Integer>> slicesByStack = new LinkedHashMap<>();
        for (Location canal : found.axialCanal.values()) {
            slicesByStack.computeIfAbsent(canal.stack(), k -> new TreeSet<>()).add(canal.slice());
        }
        Map<Stack, Map<Integer, float[][]>> answers = new HashMap<>();
        ImageInput input = points.input().withChannelMode(models.get().channelMode());
        slicesByStack.forEach((stack, slices) ->
                answers.put(stack, locatePoints(stack, points, input, slices)));
        for (Level level : Level.ALL) {
            Location canal = found.axialCanal.get(level);
            if (canal == null) {
                continue;
            }
            float[][] p = answers.get(canal.stack()).get(canal.slice());
            Stack stack = canal.stack();
            found.leftSubarticular.putIfAbsent(level, new Location(stack, canal.slice(),
                    p[0][0] * stack.cols() - 0.5, p[0][1] * stack.rows() - 0.5, 0, 0,
                    Double.NaN, "point model on the projected slice", canal.distanceMm()));
            found.rightSubarticular.putIfAbsent(level, new Location(stack, canal.slice(),
                    p[1][0] * stack.cols() - 0.5, p[1][1] * stack.rows() - 0.5, 0, 0,
                    Double.NaN, "point model on the projected slice", canal.distanceMm()));
        }
    }

    /**
     * The axial stacks a point of {@code sagittal} may be carried into. None when the sagittal
     * stack's own geometry cannot place it in patient space; otherwise those whose geometry
     * can, in the sagittal stack's frame of reference. Each reason a stack is passed over is
     * noted in {@code refused}, with the level where no axial stack is left to it.
     */
    private static List<Stack> usableAxial(Stack sagittal, List<Stack> axial, Level level,
            Map<String, List<String>> refused) {
        String problem = sagittal.geometry().projectionProblem();
        if (problem != null) {
            refused.computeIfAbsent("series " + sagittal.seriesId() + " (" + sagittal.type()
                    .description() + ") places no point in patient space: " + problem,
                    k -> new ArrayList<>()).add(level.label());
            return List.of();
        }
        List<Stack> usable = new ArrayList<>();
        // an axial series of several blocks gives each the same reason, counted once
        Set<String> passedOver = new LinkedHashSet<>();
        for (Stack stack : axial) {
            String why = stack.geometry().projectionProblem();
            if (why == null && !stack.geometry().sharesFrameWith(sagittal.geometry())) {
                why = "its FrameOfReferenceUID differs from series " + sagittal.seriesId()
                        + "'s, so their coordinates are not one patient space";
            }
            if (why == null) {
                usable.add(stack);
            } else {
                String reason = "series " + stack.seriesId() + " (axial T2) is not used to place"
                        + " points: " + why;
                refused.computeIfAbsent(reason, k -> new ArrayList<>());
                passedOver.add(reason);
            }
        }
        if (usable.isEmpty()) {
            passedOver.forEach(reason -> refused.get(reason).add(level.label()));
        }
        return usable;
    }

    /**
     * The axial canal point of {@code level}: the foot of its sagittal T2 point on the nearest
     * axial slice, when that slice lies within its stack's reach of the point and the foot
     * within the image (and its margin); otherwise a warning says why the level has none.
     */
    private static Optional<Location> projected(Level level, double[] world, List<Stack> axial,
            List<String> warnings) {
        List<StackGeometry> geometries = axial.stream().map(Stack::geometry).toList();
        Optional<AxialAssignment.Assignment> nearest = AxialAssignment.nearest(world, geometries);
        if (nearest.isEmpty()) {
            warnings.add(level.label() + ": no axial slice within reach of the sagittal T2"
                    + " point; the level's axial targets fall back");
            return Optional.empty();
        }
        AxialAssignment.Assignment a = nearest.get();
        Stack stack = axial.get(a.stack());
        double reach = stack.geometry().reachMm();
        if (a.distanceMm() > reach) {
            warnings.add(String.format(Locale.ROOT, "%s: the nearest axial slice (series %s)"
                    + " lies %.1f mm from the sagittal T2 point, farther than the %.1f mm its"
                    + " slice spacing allows; the level's axial targets fall back",
                    level.label(), stack.seriesId(), a.distanceMm(), reach));
            return Optional.empty();
        }
        if (beyondMargin(a.x(), stack.cols()) || beyondMargin(a.y(), stack.rows())) {
            warnings.add(String.format(Locale.ROOT, "%s: the sagittal T2 point falls outside the"
                    + " axial image (series %s, x %.1f, y %.1f on %d x %d); the level's axial"
                    + " targets fall back", level.label(), stack.seriesId(), a.x(), a.y(),
                    stack.cols(), stack.rows()));
            return Optional.empty();
        }
        return Optional.of(new Location(stack, a.slice(), a.x(), a.y(), 0, 0, Double.NaN,
                "projected from the sagittal T2 point", a.distanceMm()));
    }

    /** The point model's answers on each of {@code slices}, in original pixels' fractions. */
    private static Map<Integer, float[][]> locatePoints(Stack stack, Networks.PointModel model,
            ImageInput input, TreeSet<Integer> slices) {
        List<Integer> ordered = new ArrayList<>(slices);
        float[][][] answers;
        try (Tensor images = wholeSlices(stack, input, ordered)) {
            answers = model.locate(images.reshape(ordered.size(), input.channels(),
                    input.rows(), input.cols()));
        }
        Map<Integer, float[][]> bySlice = new TreeMap<>();
        for (int i = 0; i < ordered.size(); i++) {
            bySlice.put(ordered.get(i), answers[i]);
        }
        return bySlice;
    }

    /** Whole slices resized to a network's input: {@code [n, 1, C, H, W]}. */
    static Tensor wholeSlices(Stack stack, ImageInput input, List<Integer> slices) {
        List<RoiTarget> centres = slices.stream()
                .map(s -> ImageInput.imageCentre(s, stack.rows(), stack.cols())).toList();
        return RoiSampler.sample(stack.volume(), centres,
                input.wholeImage(stack.rows(), stack.cols()));
    }

    private static List<Integer> allSlices(Stack stack) {
        List<Integer> all = new ArrayList<>();
        for (int s = 0; s < stack.slices(); s++) {
            all.add(s);
        }
        return all;
    }

    /**
     * The spine's direction at each level of one sagittal stack, from its neighbouring levels'
     * points (the levels above and below, or the one neighbour at the ends).
     */
    // LIMITATION: the disc's tilt is taken as perpendicular to the line through the
    // neighbouring levels' points, not measured from the disc itself.
    private static void addSpineDirections(Map<Level, Location> levels) {
        Map<Level, Location> copy = Map.copyOf(levels);
        for (Level level : Level.ALL) {
            Location here = copy.get(level);
            if (here == null) {
                continue;
            }
            int i = level.ordinal();
            Location above = i > 0 ? copy.get(Level.ALL.get(i - 1)) : null;
            Location below = i < 4 ? copy.get(Level.ALL.get(i + 1)) : null;
            Location from = above != null ? above : here;
            Location to = below != null ? below : here;
            if (from == to || from.stack() != to.stack()) {
                continue;
            }
            double dx = to.x() - from.x();
            double dy = to.y() - from.y();
            if (Math.hypot(dx, dy) > 1e-6) {
                levels.put(level, here.withSpine(dx, dy));
            }
        }
    }

    /**
     * How far outside the image a projected point may lie, as a fraction of the image's size:
     * a level at the image's edge may land slightly past it; farther out the projection is
     * wrong (a point's bag is cropped around it, so the image must hold it).
     */
    static final double IMAGE_MARGIN = 0.05;

    /**
     * Places the given points on the stacks their series and instance name. A point that is
     * not finite, lies outside its image, names a slice the study lacks or a series of another
     * type than its condition is located on, or disagrees with an earlier usable row for its
     * target is refused with a warning naming its row.
     */
    private static void placeGiven(List<Stack> stacks, List<GivenCoordinates.Point> given,
            Localisation found, List<String> warnings) {
        Map<Map<Level, Location>, Map<Level, GivenCoordinates.Point>> placed =
                new IdentityHashMap<>();
        for (GivenCoordinates.Point point : given) {
            if (!Double.isFinite(point.x()) || !Double.isFinite(point.y())) {
                warnings.add(point.source() + ": given point for " + point.target()
                        + " is not finite (x " + point.x() + ", y " + point.y() + "); ignored");
                continue;
            }
            Stack stack = null;
            int slice = -1;
            int holding = 0;
            for (Stack candidate : stacks) {
                if (candidate.seriesId().equals(point.seriesId())) {
                    int at = candidate.sliceOfInstance(point.instance());
                    if (at >= 0) {
                        holding += candidate.slicesOfInstance(point.instance());
                        if (stack == null) {
                            stack = candidate;
                            slice = at;
                        }
                    }
                }
            }
            // the cell as it may be shown: it is the user's text, and could be anything
            String series = Redaction.printable(Redaction.freeText(point.seriesId()));
            if (stack == null) {
                warnings.add(point.source() + ": given point for " + point.target()
                        + " names series " + series + " instance " + point.instance()
                        + ", which no stack the study could read holds; ignored");
                continue;
            }
            if (holding > 1) {
                // a series that numbers each block from 1 again, or gives one number to two
                // slices: which slice is meant is unknown
                warnings.add(point.source() + ": given point for " + point.target()
                        + " names series " + series + " instance " + point.instance()
                        + ", which " + holding + " of the series' slices carry; ignored");
                continue;
            }
            if (!locatedOn(point.target().condition(), stack.type())) {
                warnings.add(point.source() + ": given point for " + point.target()
                        + " names series " + series + ", a " + (stack.type() == null
                                ? "series of undecided type" : stack.type().description()
                                + " series") + ", but " + point.target().condition().label()
                        + " is located on the " + point.target().condition().seriesType()
                                .description() + " series; ignored");
                continue;
            }
            if (outside(point.x(), stack.cols()) || outside(point.y(), stack.rows())) {
                warnings.add(point.source() + ": given point for " + point.target() + " (x "
                        + point.x() + ", y " + point.y() + ") lies outside its "
                        + stack.cols() + " x " + stack.rows() + " image; ignored");
                continue;
            }
            Location location = new Location(stack, slice, point.x(), point.y(), 0, 0,
                    Double.NaN, "given coordinates", Double.NaN);
            Condition condition = point.target().condition();
            Level level = point.target().level();
            Side side = condition.side();
            Map<Level, Location> into = switch (condition.group()) {
                case SPINAL -> stack.type() == SeriesType.AX_T2 ? found.axialCanal : found.canal;
                case FORAMINAL -> side == Side.LEFT ? found.leftForamen : found.rightForamen;
                case SUBARTICULAR -> side == Side.LEFT ? found.leftSubarticular
                        : found.rightSubarticular;
            };
            GivenCoordinates.Point first = placed.computeIfAbsent(into, k -> new HashMap<>())
                    .putIfAbsent(level, point);
            if (first == null) {
                into.put(level, location);
            } else if (!first.sameAs(point)) {
                warnings.add(point.source() + ": given point for " + point.target()
                        + " disagrees with " + first.source() + "; the first is used");
            }
        }
    }

    /**
     * Whether a projected pixel coordinate lies beyond an image of {@code size} pixels and
     * its margin.
     */
    private static boolean beyondMargin(double coordinate, int size) {
        double margin = IMAGE_MARGIN * size;
        return coordinate < -0.5 - margin || coordinate > size - 0.5 + margin;
    }

    /**
     * Whether a pixel coordinate lies outside an image of {@code size} pixels. Pixel centres
     * are at whole numbers, as in the point models' answers, so the image spans
     * [-0.5, size - 0.5); a point on its far edge belongs to no pixel.
     */
    static boolean outside(double coordinate, int size) {
        return !(coordinate >= -0.5 && coordinate < size - 0.5);
    }

    /**
     * Whether a given point for {@code condition} may lie on a stack of {@code type}: the type
     * its condition is located and graded on, or, for the spinal canal, also an axial T2 (the
     * canal's point on its axial slice, as {@link #locateAxial} finds it).
     */
    private static boolean locatedOn(Condition condition, SeriesType type) {
        return type == condition.seriesType()
                || condition.group() == Condition.Group.SPINAL && type == SeriesType.AX_T2;
    }
}
