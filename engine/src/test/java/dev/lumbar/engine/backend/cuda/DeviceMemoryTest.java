package dev.lumbar.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The caching allocator over a fake device that hands out increasing addresses. */
class DeviceMemoryTest {

    private static final class FakeDevice implements DeviceMemory.Allocator {
        long next = 0x1000_0000L;
        final List<Long> allocations = new ArrayList<>();
        final List<Long> frees = new ArrayList<>();

        @Override
        public long allocate(long bytes) {
            long address = next;
            next += bytes;
            allocations.add(bytes);
            return address;
        }

        @Override
        public void free(long address) {
            frees.add(address);
        }
    }

    @Test
    void releasedBlocksAreReusedWithoutAskingTheDevice() {
        FakeDevice device = new FakeDevice();
        DeviceMemory memory = new DeviceMemory(device, 1 << 20);

        long first = memory.allocate(1000);
        memory.release(first);
        long second = memory.allocate(900);

        assertEquals(first, second, "900 and 1000 bytes round to the same 1024-byte block");
        assertEquals(List.of(1024L), device.allocations);
    }

    @Test
    void cacheIsReleasedBeforeTheLimitIsDeclaredReached() {
        FakeDevice device = new FakeDevice();
        DeviceMemory memory = new DeviceMemory(device, 4096);

        long small = memory.allocate(2048);
        memory.release(small);
        long big = memory.allocate(4096);

        assertEquals(List.of(small), device.frees);
        assertEquals(4096, memory.liveBytes());
        assertTrue(big != 0);
    }

    @Test
    void overTheLimitFailsWithTheSizes() {
        DeviceMemory memory = new DeviceMemory(new FakeDevice(), 3 << 20);
        memory.allocate(2 << 20);

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> memory.allocate(2 << 20));

        assertTrue(e.getMessage().contains("limit of 3 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("2 MiB in use"), e.getMessage());
    }

    @Test
    void releasingTwiceIsAnError() {
        DeviceMemory memory = new DeviceMemory(new FakeDevice(), 1 << 20);
        long block = memory.allocate(10);
        memory.release(block);

        assertThrows(IllegalStateException.class, () -> memory.release(block));
    }

    @Test
    void tensorOwningDeviceMemoryReturnsItOnClose() {
        DeviceMemory memory = new DeviceMemory(new FakeDevice(), 1 << 20);
        long address = memory.allocate(64);
        Tensor t = Tensor.adopt(MemorySegment.ofAddress(address).reinterpret(64),
                memory.ownerOf(address), DType.F32, Device.cuda(0), 4, 4);

        t.close();
        t.close();

        assertEquals(0, memory.liveBytes());
        assertEquals(512, memory.cachedBytes());
        assertEquals(512, memory.peakBytes());
    }

    @Test
    void closingFreesLiveAndCachedBlocks() {
        FakeDevice device = new FakeDevice();
        DeviceMemory memory = new DeviceMemory(device, 1 << 20);
        long live = memory.allocate(100);
        long cached = memory.allocate(5000);
        memory.release(cached);

        memory.close();

        assertEquals(2, device.frees.size());
        assertTrue(device.frees.containsAll(List.of(live, cached)));
        memory.release(live);
        assertEquals(2, device.frees.size(), "a tensor closed after its backend frees nothing");
    }

    @Test
    void blocksUsedDuringACaptureStayReservedForTheGraph() {
        FakeDevice device = new FakeDevice();
        DeviceMemory memory = new DeviceMemory(device, 1 << 20);
        long beforeCapture = memory.allocate(1024);
        memory.release(beforeCapture);

        memory.beginRecording();
        long temporary = memory.allocate(1024);
        long output = memory.allocate(4096);
        memory.release(temporary);
        java.util.Set<Long> reserved = memory.endRecording();

        assertEquals(beforeCapture, temporary, "the capture reused a cached block");
        assertEquals(java.util.Set.of(temporary), reserved);
        assertTrue(memory.allocate(1024) != temporary,
                "a block the graph reads and writes is not handed out again");
        assertEquals(4096 + 1024, memory.liveBytes());
        assertEquals(1024, memory.reservedBytes());

        memory.unreserve(reserved);
        memory.release(output);
        assertEquals(0, memory.reservedBytes());
        assertEquals(temporary, memory.allocate(1000));
    }
}
