package dev.lumbar.engine.model.backbone;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lumbar.engine.backend.cpu.ReferenceBackend;
import dev.lumbar.engine.tensor.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Architecture decoding: sizes, names and errors, checked without running a forward. */
class BackboneArchitectureTest {

    /** Learnable parameters (BatchNorm running statistics excluded) of the full model. */
    private static long parameterCount(Backbone backbone) {
        return backbone.expectedTensors().entrySet().stream()
                .filter(e -> !e.getKey().endsWith(".running_mean")
                        && !e.getKey().endsWith(".running_var"))
                .mapToLong(e -> Tensor.numel(e.getValue()))
                .sum();
    }

    @ParameterizedTest
    @CsvSource({
        // timm's published parameter counts for the ImageNet models (1000 classes, 3 channels)
        "efficientnet_b0, 5288548, 1280",
        "efficientnet_b3, 12233232, 1536",
        "efficientnet_b7, 66347960, 2560",
        "tf_efficientnet_b4, 19341616, 1792",
        "tf_efficientnetv2_s, 21458488, 1280",
        "tf_efficientnetv2_m, 54139356, 1280",
        "tf_efficientnetv2_l, 118515272, 1280",
        "efficientnetv2_rw_s, 23941296, 1792",
        "convnext_atto, 3695520, 320",
        "convnext_nano, 15593560, 640",
        "convnext_tiny, 28589128, 768",
        "convnext_small, 50223688, 768",
        "convnext_base, 88591464, 1024"})
    void fullSizeModelsHaveTimmsParameterCounts(String arch, long parameters, int features) {
        Backbone backbone = Backbones.create(arch, 3, 1000, Map.of());
        assertEquals(parameters, parameterCount(backbone), arch);
        assertEquals(features, backbone.numFeatures(), arch);
    }

    @Test
    void efficientNetB3ScalesDepthUpAndChannelsToMultiplesOfEight() {
        EfficientNet b3 = (EfficientNet) Backbones.create("efficientnet_b3", 3, 1000, Map.of());
        List<Integer> depths = b3.spec().stages().stream().map(List::size).toList();
        List<Integer> widths = b3.spec().stages().stream()
                .map(stage -> stage.getLast().outChs()).toList();
        assertEquals(List.of(2, 3, 3, 5, 5, 6, 2), depths);
        assertEquals(List.of(24, 32, 48, 96, 136, 232, 384), widths);
        assertEquals(40, b3.spec().stemChs());
    }

    @Test
    void depthSharesFollowTimmAcrossSeveralBlockStrings() {
        // 1 + 3 repeats × 1.5 → 6, shared from the last string back: round(4.5) is 4 (half to
        // even, as Python rounds), leaving 2 for the first
        assertArrayEquals(new int[] {2, 4}, EfficientNetArch.scaleDepth(new int[] {1, 3}, 1.5));
        assertArrayEquals(new int[] {1}, EfficientNetArch.scaleDepth(new int[] {1}, 0.1));
    }

    @Test
    void makeDivisibleNeverRoundsDownMoreThanTenPercent() {
        assertEquals(8, EfficientNetArch.makeDivisible(4));
        assertEquals(16, EfficientNetArch.makeDivisible(11.2));
        assertEquals(24, EfficientNetArch.makeDivisible(20));
        assertEquals(360, EfficientNetArch.roundChannels(1792, 0.2));
        assertEquals(1792, EfficientNetArch.roundChannels(1792, 0));
    }

    @Test
    void tensorFlowSamePaddingPutsTheOddPixelAtTheEnd() {
        assertEquals(1, EfficientNet.samePadding(66, 3, 2));
        assertEquals(2, EfficientNet.samePadding(67, 3, 2));
        assertEquals(3, EfficientNet.samePadding(34, 5, 2));
        assertEquals(0, EfficientNet.samePadding(5, 1, 2));
    }

    @Test
    void keyNamesAreTimms() {
        Map<String, long[]> convnext =
                Backbones.create("convnext_small", 1, 7, Map.of()).expectedTensors();
        assertArrayEquals(new long[] {96, 1, 4, 4}, convnext.get("stem.0.weight"));
        assertArrayEquals(new long[] {192, 96, 2, 2},
                convnext.get("stages.1.downsample.1.weight"));
        assertArrayEquals(new long[] {384, 96}, convnext.get("stages.0.blocks.0.mlp.fc1.weight"));
        assertArrayEquals(new long[] {96}, convnext.get("stages.0.blocks.2.gamma"));
        assertArrayEquals(new long[] {7, 768}, convnext.get("head.fc.weight"));
        assertFalse(convnext.containsKey("stages.0.downsample.0.weight"));

        Map<String, long[]> atto =
                Backbones.create("convnext_atto", 3, 0, Map.of()).expectedTensors();
        assertArrayEquals(new long[] {160, 40, 1, 1}, atto.get("stages.0.blocks.1.mlp.fc1.weight"));
        assertTrue(atto.containsKey("head.norm.weight"));
        assertFalse(atto.containsKey("head.fc.weight"));

        Map<String, long[]> b0 =
                Backbones.create("efficientnet_b0", 3, 1000, Map.of()).expectedTensors();
        assertArrayEquals(new long[] {32, 1, 3, 3}, b0.get("blocks.0.0.conv_dw.weight"));
        assertArrayEquals(new long[] {8, 32, 1, 1}, b0.get("blocks.0.0.se.conv_reduce.weight"));
        assertArrayEquals(new long[] {96, 16, 1, 1}, b0.get("blocks.1.0.conv_pw.weight"));
        assertArrayEquals(new long[] {4, 96, 1, 1}, b0.get("blocks.1.0.se.conv_reduce.weight"));
        assertArrayEquals(new long[] {1280, 320, 1, 1}, b0.get("conv_head.weight"));
        assertArrayEquals(new long[] {1280}, b0.get("bn2.running_var"));
        assertArrayEquals(new long[] {1000, 1280}, b0.get("classifier.weight"));

        Map<String, long[]> v2 =
                Backbones.create("tf_efficientnetv2_s", 2, 0, Map.of()).expectedTensors();
        assertArrayEquals(new long[] {24, 2, 3, 3}, v2.get("conv_stem.weight"));
        assertArrayEquals(new long[] {24, 24, 3, 3}, v2.get("blocks.0.1.conv.weight"));
        assertArrayEquals(new long[] {96, 24, 3, 3}, v2.get("blocks.1.0.conv_exp.weight"));
        assertFalse(v2.containsKey("blocks.1.0.se.conv_reduce.weight"));
        assertFalse(v2.containsKey("classifier.weight"));
    }

    @Test
    void unknownArchitecturesAndOverridesAreRejectedByName() {
        var unknown = assertThrows(IllegalArgumentException.class,
                () -> Backbones.create("resnet50", 3, 3, Map.of()));
        assertTrue(unknown.getMessage().contains("resnet50"), unknown.getMessage());

        var typo = assertThrows(IllegalArgumentException.class,
                () -> Backbones.create("convnext_tiny", 3, 3, Map.of("dimz", List.of(1L))));
        assertTrue(typo.getMessage().contains("dimz"), typo.getMessage());

        var mixed = assertThrows(IllegalArgumentException.class,
                () -> Backbones.create("efficientnet_b0", 3, 3,
                        Map.of("blocks", List.of("ir_r1_k3.5_s1_e6_c16"))));
        assertTrue(mixed.getMessage().contains("ir_r1_k3.5_s1_e6_c16"), mixed.getMessage());
    }

    /** A card asking for absurd depth or width is refused at once, before blocks are built. */
    @Test
    void absurdDepthsAndWidthsAreRefusedBeforeAnyBlockIsBuilt() {
        List<Map<String, Object>> convnext = List.of(
                Map.of("depths", List.of(1L, 1L, 1L, 1_000_000_000L)),
                Map.of("dims", List.of(96L, 192L, 384L, 1_000_000L)));
        for (Map<String, Object> config : convnext) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Backbones.create("convnext_tiny", 3, 0, config));
            assertTrue(e.getMessage().startsWith("convnext_tiny: backbone.config asks for"),
                    e.getMessage());
        }
        List<Map<String, Object>> efficientnet = List.of(Map.of("depth_multiplier", 1e7),
                Map.of("channel_multiplier", 1e5));
        for (Map<String, Object> config : efficientnet) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Backbones.create("tf_efficientnetv2_s", 3, 0, config));
            assertTrue(e.getMessage().startsWith("tf_efficientnetv2_s: backbone.config asks"
                    + " for"), e.getMessage());
        }
    }

    @Test
    void configOverridesBlocksAndMultipliers() {
        Map<String, Object> config = new HashMap<>();
        config.put("blocks", List.of("ds_r1_k3_s1_e1_c16_se0.25", List.of("ir_r1_k5_s2_e6_c24",
                "er_r2_k3_s1_e4_c24_noskip")));
        config.put("channel_multiplier", 0.5);
        EfficientNet net = (EfficientNet) Backbones.create("tf_efficientnet_b0", 3, 2, config);
        List<List<EfficientNetArch.BlockSpec>> stages = net.spec().stages();
        assertEquals(2, stages.size());
        assertEquals(3, stages.get(1).size());
        assertEquals(2, stages.get(1).get(0).stride());
        assertFalse(stages.get(1).get(2).residual());
        assertEquals(1e-3, net.spec().bnEps());
        assertEquals(640, net.numFeatures());
    }

    @Test
    void loadNamesTheMissingOrMisshapedTensor() {
        Backbone backbone = Backbones.create("convnext_atto", 3, 2,
                Map.of("depths", List.of(1L, 1L, 1L, 1L), "dims", List.of(8L, 8L, 8L, 8L)));
        var missing = assertThrows(IllegalArgumentException.class,
                () -> backbone.load(key -> null, new ReferenceBackend()));
        assertTrue(missing.getMessage().contains("stem.0.weight"), missing.getMessage());

        try (Tensor wrong = Tensor.zeros(3)) {
            var misshaped = assertThrows(IllegalArgumentException.class,
                    () -> backbone.load(key -> wrong, new ReferenceBackend()));
            assertTrue(misshaped.getMessage().contains("stem.0.weight")
                    && misshaped.getMessage().contains("[3]"), misshaped.getMessage());
        }
    }

    @Test
    void convNeXtRefusesInputsTooSmallForItsStrides() {
        try (Backbone backbone = Backbones.create("convnext_atto", 1, 0,
                Map.of("depths", List.of(1L, 1L, 1L, 1L), "dims", List.of(8L, 8L, 8L, 8L)));
                Tensor x = Tensor.zeros(1, 1, 31, 64)) {
            backbone.load(key -> Tensor.zeros(backbone.expectedTensors().get(key)),
                    new ReferenceBackend());
            var error = assertThrows(IllegalArgumentException.class,
                    () -> backbone.forward(new ReferenceBackend(), x));
            assertTrue(error.getMessage().contains("31"), error.getMessage());
        }
    }
}
