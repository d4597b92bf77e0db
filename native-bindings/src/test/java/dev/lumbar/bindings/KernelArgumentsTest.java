package dev.lumbar.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class KernelArgumentsTest {

    @Test
    void packsOnePointerPerParameterToItsValue() {
        KernelArguments arguments = new KernelArguments().pointer(0xdead_beef_0000L).i32(-7)
                .f32(2.5f).i64(1L << 40);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment array = arguments.pack(arena).reinterpret(4 * ValueLayout.ADDRESS
                    .byteSize());

            MemorySegment[] slots = new MemorySegment[4];
            for (int i = 0; i < 4; i++) {
                slots[i] = array.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(8);
            }

            assertEquals(4, arguments.count());
            assertEquals("pifl", arguments.signature());
            assertEquals(0xdead_beef_0000L, slots[0].get(ValueLayout.JAVA_LONG, 0));
            assertEquals(-7, slots[1].get(ValueLayout.JAVA_INT, 0));
            assertEquals(2.5f, slots[2].get(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(1L << 40, slots[3].get(ValueLayout.JAVA_LONG, 0));
        }
    }
}
