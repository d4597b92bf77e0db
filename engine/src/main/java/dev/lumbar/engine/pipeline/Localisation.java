package dev.lumbar.engine.pipeline;

import dev.lumbar.engine.spine.Level;
import dev.lumbar.engine.spine.SeriesType;
import dev.lumbar.engine.spine.Side;
import dev.lumbar.engine.spine.Target;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * Every target's location on every view where stage 1 could place it. On a sagittal T2 stack
 * every condition of a level shares the level's point in the spinal canal; on a sagittal T1
 * stack a side's conditions share that side's foramen; on an axial stack the spinal canal has
 * the projected level point and each side its subarticular point.
 */
public final class Localisation {

    final Map<Level, Location> canal = new EnumMap<>(Level.class);
    final Map<Level, Location> leftForamen = new EnumMap<>(Level.class);
    final Map<Level, Location> rightForamen = new EnumMap<>(Level.class);
    final Map<Level, Location> axialCanal = new EnumMap<>(Level.class);
    final Map<Level, Location> leftSubarticular = new EnumMap<>(Level.class);
    final Map<Level, Location> rightSubarticular = new EnumMap<>(Level.class);

    /** Where {@code target} lies on a stack of type {@code view}, if stage 1 found it. */
    public Optional<Location> on(SeriesType view, Target target) {
        Side side = target.condition().side();
        Level level = target.level();
        return Optional.ofNullable(switch (view) {
            case SAG_T2 -> canal.get(level);
            // LIMITATION: the spinal canal has no location on a sagittal T1 stack, so a
            // member grading it from SAG_T1 never serves and the next member or the priors do
            case SAG_T1 -> side == Side.LEFT ? leftForamen.get(level)
                    : side == Side.RIGHT ? rightForamen.get(level) : null;
            case AX_T2 -> side == Side.LEFT ? leftSubarticular.get(level)
                    : side == Side.RIGHT ? rightSubarticular.get(level) : axialCanal.get(level);
        });
    }

    /** The location the report shows for {@code target}: on the view it is graded on. */
    public Optional<Location> natural(Target target) {
        return on(target.seriesType(), target);
    }
}
