package dev.lumbar.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.cpu.CpuBackend;
import dev.lumbar.engine.model.backbone.Backbone;
import dev.lumbar.engine.model.backbone.Backbones;
import dev.lumbar.engine.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CountingBackendTest {

    @Test
    void countsTwoFlopsPerMultiplyAccumulateOfAStridedGroupedConvolution() {
        try (CpuBackend cpu = new CpuBackend(1);
                Tensor x = Shapes.random(1, 2, 6, 9, 11);
                Tensor weight = Shapes.random(2, 4, 3, 3, 3)) {
            CountingBackend counting = new CountingBackend(cpu);
            Conv2dSpec spec = new Conv2dSpec(2, 2, 1, 1, 1, 1, 1, 1, 2);

            try (Tensor counted = counting.conv2d(x, weight, null, spec, Activation.IDENTITY);
                    Tensor direct = cpu.conv2d(x, weight, null, spec, Activation.IDENTITY)) {
                // out 5×6 per image; each output reads 6/2 channels × 3×3 taps
                assertArrayEquals(new long[] {2, 4, 5, 6}, counted.shape());
                assertEquals(2.0 * 2 * 4 * 5 * 6 * 3 * 3 * 3, counting.totalFlops());
                assertArrayEquals(direct.toFloatArray(), counted.toFloatArray());
            }
            assertEquals(List.of("conv dense 3x3 strided"),
                    List.copyOf(counting.tallies().keySet()));
        }
    }

    @Test
    void talliesDepthwiseLinearAndMatmulSeparately() {
        try (CpuBackend cpu = new CpuBackend(1);
                Tensor x = Shapes.random(3, 1, 8, 5, 5);
                Tensor depthwise = Shapes.random(4, 8, 1, 7, 7);
                Tensor rows = Shapes.random(5, 2, 3, 8);
                Tensor linear = Shapes.random(6, 16, 8);
                Tensor a = Shapes.random(7, 2, 3, 4);
                Tensor b = Shapes.random(8, 2, 4, 5)) {
            CountingBackend counting = new CountingBackend(cpu);

            counting.conv2d(x, depthwise, null, Conv2dSpec.symmetric(1, 3, 1, 8),
                    Activation.IDENTITY).close();
            counting.linear(rows, linear, null, Activation.GELU).close();
            counting.matmul(a, b).close();

            Map<String, CountingBackend.Tally> tallies = counting.tallies();
            assertEquals(2.0 * 8 * 5 * 5 * 7 * 7, tallies.get("conv depthwise 7x7").flops);
            assertEquals(2.0 * 6 * 8 * 16, tallies.get("linear").flops);
            assertEquals(2.0 * 2 * 3 * 4 * 5, tallies.get("matmul").flops);
            assertEquals(1, tallies.get("matmul").calls);
        }
    }

    @Test
    void countsConvNextTinyLikeItsArchitecture() {
        Backbone backbone = Backbones.create("convnext_tiny", 3, 0, Map.of());
        try (CpuBackend cpu = new CpuBackend(2); backbone) {
            Map<String, Tensor> weights = new HashMap<>();
            backbone.expectedTensors().forEach((name, shape) -> weights.put(name,
                    name.endsWith("running_var") ? ones(shape) : Tensor.zeros(shape)));
            backbone.load(weights::get, cpu);
            weights.values().forEach(Tensor::close);

            CountingBackend counting = new CountingBackend(cpu);
            try (Tensor image = Tensor.zeros(1, 3, 224, 224);
                    Tensor onDevice = cpu.upload(image)) {
                backbone.forward(counting, onDevice).close();
            }

            // per stage (dims d, side r, depth n): n·(r²·d·49 + 8·r²·d²) for the 7×7
            // depthwise and the 4× MLP, plus the 4×4 stem and the 2×2 downsamples; timm's
            // 4.47 GMACs also count the 1000-class classifier, absent with num_classes=0
            long[] dims = {96, 192, 384, 768};
            long[] depths = {3, 3, 9, 3};
            long[] sides = {56, 28, 14, 7};
            long macs = 56 * 56 * 96 * 3 * 16;
            for (int i = 0; i < 4; i++) {
                long pixels = sides[i] * sides[i];
                if (i > 0) {
                    macs += pixels * dims[i] * dims[i - 1] * 4;
                }
                macs += depths[i] * (pixels * dims[i] * 49 + 8 * pixels * dims[i] * dims[i]);
            }
            assertEquals(4_454_763_264L, macs);
            assertEquals(2.0 * macs, counting.totalFlops());
        }
    }

    private static Tensor ones(long[] shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        java.util.Arrays.fill(values, 1f);
        return Tensor.of(values, shape);
    }
}
