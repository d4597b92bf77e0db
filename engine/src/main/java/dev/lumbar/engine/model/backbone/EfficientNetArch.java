package dev.lumbar.engine.model.backbone;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decodes timm's EfficientNet family definitions into concrete blocks: the block strings
 * ({@code ir_r2_k3_s2_e6_c24_se0.25}: type, repeats, kernel, stride, expansion, output
 * channels, squeeze-excite ratio), channel rounding ({@code round_channels}, divisor 8, never
 * more than 10% down), per-stage depth scaling (ceil of the total, distributed from the last
 * block string back), and the stem and head widths.
 *
 * <p>Arithmetic follows timm's Python exactly, including its double-precision products and
 * Python's {@code round} (half to even, {@link Math#rint}), so channel counts match at every
 * multiplier.
 */
final class EfficientNetArch {

    /** timm's block types, by their prefix in a block string. */
    enum Kind {
        /** {@code cn}: ConvBnAct, conv → BN → act, optional residual. */
        CONV_BN_ACT,
        /** {@code ds}: DepthwiseSeparableConv, dw → BN → act → SE → pw → BN. */
        DEPTHWISE_SEPARABLE,
        /**
         * {@code ir}: InvertedResidual (MBConv),
         * pw → BN → act → dw → BN → act → SE → pwl → BN.
         */
        INVERTED_RESIDUAL,
        /** {@code er}: EdgeResidual (fused MBConv), conv → BN → act → SE → pwl → BN. */
        EDGE_RESIDUAL
    }

    /**
     * One block after decoding and scaling.
     *
     * @param midChs     expanded channels (ir, er), or the input channels (ds, cn)
     * @param seChannels squeeze-excite reduced channels, 0 without squeeze-excite
     */
    record BlockSpec(Kind kind, int inChs, int outChs, int midChs, int kernel, int stride,
            int seChannels, boolean residual) { }

    /** A whole network: stem width, blocks per stage, head width, BN eps, padding style. */
    record Spec(int stemChs, List<List<BlockSpec>> stages, int numFeatures, double bnEps,
            boolean tfSamePadding) { }

    /** A registered model's definition and default multipliers. */
    private record Family(List<String> blocks, int stem, int features, boolean roundFeatures,
            double channelMultiplier, double depthMultiplier) { }

    private static final List<String> B_BLOCKS = List.of(
            "ds_r1_k3_s1_e1_c16_se0.25", "ir_r2_k3_s2_e6_c24_se0.25", "ir_r2_k5_s2_e6_c40_se0.25",
            "ir_r3_k3_s2_e6_c80_se0.25", "ir_r3_k5_s1_e6_c112_se0.25",
            "ir_r4_k5_s2_e6_c192_se0.25", "ir_r1_k3_s1_e6_c320_se0.25");
    private static final List<String> V2_S_BLOCKS = List.of(
            "cn_r2_k3_s1_e1_c24_skip", "er_r4_k3_s2_e4_c48", "er_r4_k3_s2_e4_c64",
            "ir_r6_k3_s2_e4_c128_se0.25", "ir_r9_k3_s1_e6_c160_se0.25",
            "ir_r15_k3_s2_e6_c256_se0.25");
    private static final List<String> V2_RW_S_BLOCKS = List.of(
            "er_r2_k3_s1_e1_c24", "er_r4_k3_s2_e4_c48", "er_r4_k3_s2_e4_c64",
            "ir_r6_k3_s2_e4_c128_se0.25", "ir_r9_k3_s1_e6_c160_se0.25",
            "ir_r15_k3_s2_e6_c272_se0.25");
    private static final List<String> V2_M_BLOCKS = List.of(
            "cn_r3_k3_s1_e1_c24_skip", "er_r5_k3_s2_e4_c48", "er_r5_k3_s2_e4_c80",
            "ir_r7_k3_s2_e4_c160_se0.25", "ir_r14_k3_s1_e6_c176_se0.25",
            "ir_r18_k3_s2_e6_c304_se0.25", "ir_r5_k3_s1_e6_c512_se0.25");
    private static final List<String> V2_L_BLOCKS = List.of(
            "cn_r4_k3_s1_e1_c32_skip", "er_r7_k3_s2_e4_c64", "er_r7_k3_s2_e4_c96",
            "ir_r10_k3_s2_e4_c192_se0.25", "ir_r19_k3_s1_e6_c224_se0.25",
            "ir_r25_k3_s2_e6_c384_se0.25", "ir_r7_k3_s1_e6_c640_se0.25");

    /** EfficientNet-B0 … B7 (channel multiplier, depth multiplier), as timm registers them. */
    private static final double[][] B_SCALING = {
        {1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}, {1.2, 1.4}, {1.4, 1.8}, {1.6, 2.2}, {1.8, 2.6},
        {2.0, 3.1}};

    private static final Pattern B_NAME = Pattern.compile("efficientnet_b([0-7])");
    private static final Pattern OPTION = Pattern.compile("([a-z]+)(\\d.*)");

    private static final double BN_EPS_PYTORCH = 1e-5;
    private static final double BN_EPS_TF = 1e-3;
    private static final int DIVISOR = 8;

    private EfficientNetArch() {
    }

    /** Whether {@code arch} names a supported EfficientNet or EfficientNetV2 model. */
    static boolean supports(String arch) {
        return family(arch) != null;
    }

    static List<String> supportedArchs() {
        List<String> names = new ArrayList<>();
        for (String prefix : new String[] {"", "tf_"}) {
            for (int b = 0; b <= 7; b++) {
                names.add(prefix + "efficientnet_b" + b);
            }
            for (String size : new String[] {"s", "m", "l"}) {
                names.add(prefix + "efficientnetv2_" + size);
            }
        }
        names.add("efficientnetv2_rw_s");
        return names;
    }

    private static Family family(String arch) {
        String name = arch.startsWith("tf_") ? arch.substring(3) : arch;
        Matcher b = B_NAME.matcher(name);
        if (b.matches()) {
            double[] scaling = B_SCALING[Integer.parseInt(b.group(1))];
            return new Family(B_BLOCKS, 32, 1280, true, scaling[0], scaling[1]);
        }
        return switch (name) {
            case "efficientnetv2_s" -> new Family(V2_S_BLOCKS, 24, 1280, true, 1.0, 1.0);
            case "efficientnetv2_m" -> new Family(V2_M_BLOCKS, 24, 1280, false, 1.0, 1.0);
            case "efficientnetv2_l" -> new Family(V2_L_BLOCKS, 32, 1280, false, 1.0, 1.0);
            case "efficientnetv2_rw_s" -> arch.startsWith("tf_")
                    ? null : new Family(V2_RW_S_BLOCKS, 24, 1792, true, 1.0, 1.0);
            default -> null;
        };
    }

    /**
     * The concrete network for {@code arch}, with {@code config} overriding
     * {@code channel_multiplier}, {@code depth_multiplier} and {@code blocks} (a list of stages,
     * each a block string or a list of block strings).
     */
    static Spec build(String arch, Map<String, Object> config) {
        Family family = family(arch);
        if (family == null) {
            throw new IllegalArgumentException("unknown EfficientNet architecture '" + arch + "'");
        }
        double channelMultiplier = Config.number(config, "channel_multiplier",
                family.channelMultiplier());
        double depthMultiplier = Config.number(config, "depth_multiplier",
                family.depthMultiplier());
        List<List<String>> stageStrings = config.containsKey("blocks")
                ? Config.stages(config.get("blocks"))
                : family.blocks().stream().map(List::of).toList();
        boolean tf = arch.startsWith("tf_");

        // stem, then every stage with its scaled depth; only a stage's first block strides
        int stemChs = roundChannels(family.stem(), channelMultiplier);
        int inChs = stemChs;
        List<List<BlockSpec>> stages = new ArrayList<>();
        long totalBlocks = 0;
        for (List<String> strings : stageStrings) {
            List<Decoded> decoded = strings.stream().map(EfficientNetArch::decode).toList();
            int[] repeats = scaleDepth(decoded.stream().mapToInt(Decoded::repeats).toArray(),
                    depthMultiplier);
            totalBlocks += Arrays.stream(repeats).asLongStream().sum();
            Config.requireBuildable(arch, totalBlocks, 0);
            List<BlockSpec> blocks = new ArrayList<>();
            for (int d = 0; d < decoded.size(); d++) {
                for (int r = 0; r < repeats[d]; r++) {
                    int stride = blocks.isEmpty() ? decoded.get(d).stride() : 1;
                    BlockSpec block = decoded.get(d).concrete(inChs, stride, channelMultiplier);
                    Config.requireBuildable(arch, totalBlocks, block.outChs());
                    blocks.add(block);
                    inChs = block.outChs();
                }
            }
            stages.add(List.copyOf(blocks));
        }

        // head width: rounded for B0–B7, V2-S and V2-RW-S, fixed 1280 for V2-M and V2-L
        int numFeatures = family.roundFeatures()
                ? roundChannels(family.features(), channelMultiplier) : family.features();
        return new Spec(stemChs, List.copyOf(stages), numFeatures,
                tf ? BN_EPS_TF : BN_EPS_PYTORCH, tf);
    }

    /** A block string's fields before channel rounding. */
    private record Decoded(Kind kind, int repeats, int kernel, int stride, double expRatio,
            int outChs, double seRatio, Boolean forcedSkip, String source) {

        BlockSpec concrete(int inChs, int stride, double channelMultiplier) {
            int out = roundChannels(outChs, channelMultiplier);
            return switch (kind) {
                case CONV_BN_ACT -> new BlockSpec(kind, inChs, out, inChs, kernel, stride, 0,
                        Boolean.TRUE.equals(forcedSkip) && stride == 1 && inChs == out);
                case DEPTHWISE_SEPARABLE -> new BlockSpec(kind, inChs, out, inChs, kernel, stride,
                        seChannels(inChs, seRatio, 1.0),
                        stride == 1 && inChs == out && !Boolean.FALSE.equals(forcedSkip));
                case INVERTED_RESIDUAL, EDGE_RESIDUAL -> {
                    int mid = makeDivisible(inChs * expRatio);
                    yield new BlockSpec(kind, inChs, out, mid, kernel, stride,
                            seChannels(mid, seRatio, expRatio),
                            stride == 1 && inChs == out && !Boolean.FALSE.equals(forcedSkip));
                }
            };
        }
    }

    /**
     * timm gives squeeze-excite {@code rd_ratio = se / exp_ratio} of the block's expanded
     * channels, i.e. {@code se} of its input channels, rounded half to even.
     */
    private static int seChannels(int channels, double seRatio, double expRatio) {
        if (seRatio <= 0) {
            return 0;
        }
        return (int) Math.rint(channels * (seRatio / expRatio));
    }

    private static Decoded decode(String block) {
        String[] ops = block.split("_");
        Kind kind = switch (ops[0]) {
            case "cn" -> Kind.CONV_BN_ACT;
            case "ds" -> Kind.DEPTHWISE_SEPARABLE;
            case "ir" -> Kind.INVERTED_RESIDUAL;
            case "er" -> Kind.EDGE_RESIDUAL;
            default -> throw new IllegalArgumentException("block '" + block + "': type '"
                    + ops[0] + "' is not supported (cn, ds, ir, er are)");
        };
        Boolean skip = null;
        Map<String, String> options = new java.util.HashMap<>();
        for (int i = 1; i < ops.length; i++) {
            String op = ops[i];
            if (op.equals("noskip")) {
                skip = Boolean.FALSE;
            } else if (op.equals("skip")) {
                skip = Boolean.TRUE;
            } else {
                Matcher m = OPTION.matcher(op);
                if (!m.matches()) {
                    throw new IllegalArgumentException("block '" + block + "': cannot read '"
                            + op + "'");
                }
                options.put(m.group(1), m.group(2));
            }
        }
        for (String key : options.keySet()) {
            switch (key) {
                case "r", "k", "s", "e", "c", "se" -> { }
                // a pointwise or expansion kernel of 1 is timm's default
                case "a", "p" -> {
                    if (!options.get(key).equals("1")) {
                        throw unsupported(block, key);
                    }
                }
                default -> throw unsupported(block, key);
            }
        }
        for (String required : new String[] {"r", "k", "s", "c"}) {
            if (!options.containsKey(required)) {
                throw new IllegalArgumentException("block '" + block + "' lacks option '"
                        + required + "'");
            }
        }
        try {
            // timm ignores 'e' for ds blocks: their squeeze-excite works on the input channels
            double exp = kind == Kind.DEPTHWISE_SEPARABLE
                    ? 1.0 : Double.parseDouble(options.getOrDefault("e", "1"));
            Decoded decoded = new Decoded(kind, Integer.parseInt(options.get("r")),
                    Integer.parseInt(options.get("k")), Integer.parseInt(options.get("s")), exp,
                    Integer.parseInt(options.get("c")),
                    Double.parseDouble(options.getOrDefault("se", "0")), skip, block);
            if (kind == Kind.CONV_BN_ACT && decoded.seRatio() > 0) {
                throw unsupported(block, "se");
            }
            if (decoded.stride() != 1 && decoded.stride() != 2) {
                throw new IllegalArgumentException("block '" + block + "': stride must be 1 or 2");
            }
            return decoded;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("block '" + block + "': " + e.getMessage(), e);
        }
    }

    private static IllegalArgumentException unsupported(String block, String option) {
        // LIMITATION: mixed kernels (k3.5), group size (gs), activation overrides (n…),
        // space-to-depth (d), CondConv (cc) and forced input channels (fc) are not implemented;
        // such a block string is rejected with this message instead of being approximated.
        return new IllegalArgumentException("block '" + block + "': option '" + option
                + "' is not supported");
    }

    /**
     * timm's {@code _scale_stage_depth} with {@code depth_trunc='ceil'}: scale the stage's total
     * repeats, rounding up, and share them out from the last block string backwards.
     */
    static int[] scaleDepth(int[] repeats, double depthMultiplier) {
        int numRepeat = 0;
        for (int r : repeats) {
            numRepeat += r;
        }
        int numScaled = (int) Math.ceil(numRepeat * depthMultiplier);
        int[] scaled = new int[repeats.length];
        for (int i = repeats.length - 1; i >= 0; i--) {
            int r = repeats[i];
            int rs = Math.max(1, (int) Math.rint((double) r / numRepeat * numScaled));
            scaled[i] = rs;
            numRepeat -= r;
            numScaled -= rs;
        }
        return scaled;
    }

    /** timm's {@code round_channels}: no-op for a zero multiplier, else make_divisible. */
    static int roundChannels(int channels, double multiplier) {
        if (multiplier == 0) {
            return channels;
        }
        return makeDivisible(channels * multiplier);
    }

    /** timm's {@code make_divisible(v, 8)}: nearest multiple of 8, at least 8, at most 10% down. */
    static int makeDivisible(double value) {
        int rounded = Math.max(DIVISOR, (int) (value + DIVISOR / 2.0) / DIVISOR * DIVISOR);
        if (rounded < 0.9 * value) {
            rounded += DIVISOR;
        }
        return rounded;
    }
}
