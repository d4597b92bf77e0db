package dev.lumbar.engine.phantom;

import dev.lumbar.engine.study.SliceGeometry;

/**
 * One generated image: its InstanceNumber, the stack it belongs to within its series, its exact
 * geometry as written, and its stored (pre-rescale) 16-bit values, row-major.
 */
public record PhantomSlice(int instanceNumber, int stack, SliceGeometry geometry,
        short[] stored) {

    /** The stored value at {@code (row, column)} as an unsigned number. */
    public int storedAt(int row, int column) {
        return Short.toUnsignedInt(stored[row * geometry.columns() + column]);
    }
}
