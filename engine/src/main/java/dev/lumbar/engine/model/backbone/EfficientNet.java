package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.backend.GatedActivations;
import dev.lumbar.engine.backend.InvertedResidual;
import dev.lumbar.engine.model.backbone.EfficientNetArch.BlockSpec;
import dev.lumbar.engine.model.backbone.EfficientNetArch.Spec;
import dev.lumbar.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * timm's {@code EfficientNet} class as used by EfficientNet-B0…B7 and EfficientNetV2: a 3×3
 * stride-2 stem, stages of cn/ds/ir/er blocks, a 1×1 {@code conv_head}, global average pool
 * and a linear classifier. Activations are SiLU; squeeze-excite gates are sigmoid.
 *
 * <p>Every BatchNorm is folded into the convolution before it at load time, so each
 * conv + BN (+ SiLU) pair runs as one convolution with bias and fused activation.
 *
 * <p>Padding: PyTorch-style symmetric {@code ((stride − 1) + (k − 1)) / 2} for the plain
 * models; for {@code tf_} models TensorFlow 'SAME', which for strided convolutions depends on
 * the input size and is computed at every call: total
 * {@code max((⌈in/s⌉ − 1)·s + k − in, 0)}, the odd pixel at the bottom/right.
 */
final class EfficientNet implements Backbone {

    // LIMITATION: output stride is always 32 (timm's output_stride=8/16 dilation is not
    // built); a card cannot ask for it, so no model runs with the wrong geometry.

    /** A convolution with folded BatchNorm and its fused activation. */
    private record ConvBn(
            Tensor weight,       // [O, I / groups, k, k]
            Tensor bias,         // [O]
            int kernel, int stride, int groups, Activation act) { }

    /** Squeeze-excite weights. */
    private record SqueezeExcite(
            Tensor reduceWeight,   // [Cr, C, 1, 1]
            Tensor reduceBias,     // [Cr]
            Tensor expandWeight,   // [C, Cr, 1, 1]
            Tensor expandBias) { } // [C]

    /** One block: its spec and up to three convolutions in forward order, plus optional SE. */
    private record Block(BlockSpec spec, ConvBn first, ConvBn second, ConvBn third,
            SqueezeExcite se) { }

    private final String arch;
    private final int inChans;
    private final int numClasses;
    private final Spec spec;
    private final Map<String, long[]> expected;

    private final List<Tensor> uploaded = new ArrayList<>();
    private ConvBn stem;
    private Block[][] blocks;
    private ConvBn head;
    private Tensor classifierWeight;   // [K, D]
    private Tensor classifierBias;     // [K]

    EfficientNet(String arch, int inChans, int numClasses, Spec spec) {
        this.arch = arch;
        this.inChans = inChans;
        this.numClasses = numClasses;
        this.spec = spec;
        this.expected = Collections.unmodifiableMap(tensorShapes());
    }

    @Override
    public String arch() {
        return arch;
    }

    @Override
    public int inChans() {
        return inChans;
    }

    @Override
    public int numClasses() {
        return numClasses;
    }

    @Override
    public int numFeatures() {
        return spec.numFeatures();
    }

    @Override
    public Map<String, long[]> expectedTensors() {
        return expected;
    }

    /** The blocks after decoding, for tests and reports. */
    Spec spec() {
        return spec;
    }

    private Map<String, long[]> tensorShapes() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        putConvBn(shapes, "conv_stem", "bn1", spec.stemChs(), inChans, 3);
        for (int s = 0; s < spec.stages().size(); s++) {
            List<BlockSpec> stage = spec.stages().get(s);
            for (int b = 0; b < stage.size(); b++) {
                BlockSpec block = stage.get(b);
                String p = "blocks." + s + "." + b + ".";
                int in = block.inChs();
                int mid = block.midChs();
                int out = block.outChs();
                int k = block.kernel();
                switch (block.kind()) {
                    case CONV_BN_ACT -> putConvBn(shapes, p + "conv", p + "bn1", out, in, k);
                    case DEPTHWISE_SEPARABLE -> {
                        putConvBn(shapes, p + "conv_dw", p + "bn1", in, 1, k);
                        putSe(shapes, p, in, block.seChannels());
                        putConvBn(shapes, p + "conv_pw", p + "bn2", out, in, 1);
                    }
                    case INVERTED_RESIDUAL -> {
                        putConvBn(shapes, p + "conv_pw", p + "bn1", mid, in, 1);
                        putConvBn(shapes, p + "conv_dw", p + "bn2", mid, 1, k);
                        putSe(shapes, p, mid, block.seChannels());
                        putConvBn(shapes, p + "conv_pwl", p + "bn3", out, mid, 1);
                    }
                    case EDGE_RESIDUAL -> {
                        putConvBn(shapes, p + "conv_exp", p + "bn1", mid, in, k);
                        putSe(shapes, p, mid, block.seChannels());
                        putConvBn(shapes, p + "conv_pwl", p + "bn2", out, mid, 1);
                    }
                }
            }
        }
        putConvBn(shapes, "conv_head", "bn2", spec.numFeatures(), lastChannels(), 1);
        if (numClasses > 0) {
            shapes.put("classifier.weight", new long[] {numClasses, spec.numFeatures()});
            shapes.put("classifier.bias", new long[] {numClasses});
        }
        return shapes;
    }

    private int lastChannels() {
        List<BlockSpec> last = spec.stages().getLast();
        return last.isEmpty() ? spec.stemChs() : last.getLast().outChs();
    }

    private static void putConvBn(Map<String, long[]> shapes, String conv, String bn, int out,
            int inPerGroup, int k) {
        shapes.put(conv + ".weight", new long[] {out, inPerGroup, k, k});
        for (String field : new String[] {"weight", "bias", "running_mean", "running_var"}) {
            shapes.put(bn + "." + field, new long[] {out});
        }
    }

    private static void putSe(Map<String, long[]> shapes, String prefix, int channels,
            int reduced) {
        if (reduced == 0) {
            return;
        }
        shapes.put(prefix + "se.conv_reduce.weight", new long[] {reduced, channels, 1, 1});
        shapes.put(prefix + "se.conv_reduce.bias", new long[] {reduced});
        shapes.put(prefix + "se.conv_expand.weight", new long[] {channels, reduced, 1, 1});
        shapes.put(prefix + "se.conv_expand.bias", new long[] {channels});
    }

    @Override
    public void load(Function<String, Tensor> weights, Backend backend) {
        close();
        WeightSource source = new WeightSource(arch, weights, expected, backend, uploaded);
        source.checkAll();
        double eps = spec.bnEps();
        try {
            stem = convBn(source, "conv_stem", "bn1", eps, 3, 2, 1, Activation.SILU);
            blocks = new Block[spec.stages().size()][];
            for (int s = 0; s < blocks.length; s++) {
                List<BlockSpec> stage = spec.stages().get(s);
                blocks[s] = new Block[stage.size()];
                for (int b = 0; b < stage.size(); b++) {
                    blocks[s][b] = loadBlock(source, "blocks." + s + "." + b + ".", stage.get(b),
                            eps);
                }
            }
            head = convBn(source, "conv_head", "bn2", eps, 1, 1, 1, Activation.SILU);
            if (numClasses > 0) {
                classifierWeight = source.upload("classifier.weight");
                classifierBias = source.upload("classifier.bias");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static Block loadBlock(WeightSource source, String p, BlockSpec block, double eps) {
        int k = block.kernel();
        int stride = block.stride();
        Activation silu = Activation.SILU;
        Activation linear = Activation.IDENTITY;
        return switch (block.kind()) {
            case CONV_BN_ACT -> new Block(block,
                    convBn(source, p + "conv", p + "bn1", eps, k, stride, 1, silu),
                    null, null, null);
            case DEPTHWISE_SEPARABLE -> new Block(block,
                    convBn(source, p + "conv_dw", p + "bn1", eps, k, stride, block.inChs(), silu),
                    convBn(source, p + "conv_pw", p + "bn2", eps, 1, 1, 1, linear),
                    null, squeezeExcite(source, p, block));
            case INVERTED_RESIDUAL -> new Block(block,
                    convBn(source, p + "conv_pw", p + "bn1", eps, 1, 1, 1, silu),
                    convBn(source, p + "conv_dw", p + "bn2", eps, k, stride, block.midChs(),
                            silu),
                    convBn(source, p + "conv_pwl", p + "bn3", eps, 1, 1, 1, linear),
                    squeezeExcite(source, p, block));
            case EDGE_RESIDUAL -> new Block(block,
                    convBn(source, p + "conv_exp", p + "bn1", eps, k, stride, 1, silu),
                    convBn(source, p + "conv_pwl", p + "bn2", eps, 1, 1, 1, linear),
                    null, squeezeExcite(source, p, block));
        };
    }

    private static ConvBn convBn(WeightSource source, String conv, String bn, double eps,
            int kernel, int stride, int groups, Activation act) {
        Tensor[] folded = source.convWithBatchNorm(conv + ".weight", bn, eps);
        return new ConvBn(folded[0], folded[1], kernel, stride, groups, act);
    }

    private static SqueezeExcite squeezeExcite(WeightSource source, String p, BlockSpec block) {
        if (block.seChannels() == 0) {
            return null;
        }
        return new SqueezeExcite(
                source.upload(p + "se.conv_reduce.weight"),
                source.upload(p + "se.conv_reduce.bias"),
                source.upload(p + "se.conv_expand.weight"),
                source.upload(p + "se.conv_expand.bias"));
    }

    @Override
    public Tensor forwardFeatures(Backend backend, Tensor x) {
        if (blocks == null) {
            throw new IllegalStateException(arch + " has no weights loaded");
        }
        Backbones.requireInput(this, x);

        // stem: 3×3 stride-2 conv, BN, SiLU
        Tensor h = conv(backend, stem, x);

        // blocks, stage by stage
        for (Block[] stage : blocks) {
            for (Block block : stage) {
                Tensor next = block(backend, block, h);
                h.close();
                h = next;
            }
        }

        // head: 1×1 conv to numFeatures, BN, SiLU
        Tensor features = conv(backend, head, h);
        h.close();
        return features;
    }

    private Tensor block(Backend backend, Block block, Tensor x) {
        // cn: conv–BN–act; ds: dw, SE, pw; ir: pw, dw, SE, pwl; er: conv_exp, SE, pwl. A block
        // that keeps its shape adds its input to the output of its last convolution, which
        // the backend may do as it writes that output.
        Tensor shortcut = block.spec().residual() ? x : null;
        ConvBn projection = switch (block.spec().kind()) {
            case CONV_BN_ACT -> null;
            case INVERTED_RESIDUAL -> block.third();
            case DEPTHWISE_SEPARABLE, EDGE_RESIDUAL -> block.second();
        };
        SqueezeExcite se = block.se();
        if (projection == null && se == null) {
            return conv(backend, block.first(), x, null, shortcut);
        }
        boolean inverted = block.spec().kind() == EfficientNetArch.Kind.INVERTED_RESIDUAL;
        if (se != null && projection != null) {
            // the convolution before the gate (the depthwise one of an inverted residual)
            // comes with the gate of its output, which the backend may pool as it writes it;
            // the gate goes into the projection, which may scale the input on its way into
            // the product rather than in a pass of its own
            if (inverted) {
                // the backend may keep the expanded activations in its own layout
                return backend.invertedResidual(x, new InvertedResidual(
                        layer(block.first(), x), layer(block.second(), x),
                        new InvertedResidual.Gate(se.reduceWeight(), se.reduceBias(),
                                se.expandWeight(), se.expandBias(), Activation.SILU),
                        layer(projection, x)), shortcut);
            }
            try (GatedActivations gated = convWithGate(backend, block.first(), x, se)) {
                return conv(backend, projection, gated.activations(), gated.gate(), shortcut);
            }
        }
        if (se == null && block.spec().kind() == EfficientNetArch.Kind.EDGE_RESIDUAL) {
            // the backend may keep the expanded activations per block of pixels
            return backend.edgeResidual(x, layer(block.first(), x), layer(projection, x),
                    shortcut);
        }
        Tensor h = conv(backend, block.first(), x);
        if (inverted) {
            h = replace(h, conv(backend, block.second(), h));
        }
        if (projection == null) {
            h = replace(h, backend.squeezeExcite(h, se.reduceWeight(), se.reduceBias(),
                    se.expandWeight(), se.expandBias(), Activation.SILU));
            return shortcut == null ? h : replace(h, backend.add(h, shortcut));
        }
        return replace(h, conv(backend, projection, h, null, shortcut));
    }

    /** {@code conv} of {@code x} and the squeeze-excite gate of its output. */
    private GatedActivations convWithGate(Backend backend, ConvBn conv, Tensor x,
            SqueezeExcite se) {
        return backend.conv2dWithGate(x, conv.weight(), conv.bias(), geometry(conv, x),
                conv.act(), se.reduceWeight(), se.reduceBias(), se.expandWeight(),
                se.expandBias(), Activation.SILU);
    }

    /**
     * {@code conv} as one layer of an inverted residual whose input is {@code x}, its padding
     * set from x's height and width: the block's 1×1 expansion keeps them for the depthwise
     * layer, and a 1×1 projection has no padding whatever its input.
     */
    private InvertedResidual.Conv layer(ConvBn conv, Tensor x) {
        return new InvertedResidual.Conv(conv.weight(), conv.bias(), geometry(conv, x),
                conv.act());
    }

    /** Closes {@code old} and returns {@code next}: one step of a chain of temporaries. */
    private static Tensor replace(Tensor old, Tensor next) {
        old.close();
        return next;
    }

    private Tensor conv(Backend backend, ConvBn conv, Tensor x) {
        return conv(backend, conv, x, null, null);
    }

    /**
     * The convolution of {@code x}, scaled by a squeeze-excite {@code gate} and with
     * {@code residual} added to its output, each when not null.
     */
    private Tensor conv(Backend backend, ConvBn conv, Tensor x, Tensor gate, Tensor residual) {
        Conv2dSpec geometry = geometry(conv, x);
        if (residual != null) {
            return backend.conv2dAdd(x, gate, conv.weight(), conv.bias(), geometry, conv.act(),
                    residual);
        }
        return gate == null
                ? backend.conv2d(x, conv.weight(), conv.bias(), geometry, conv.act())
                : backend.gatedConv2d(x, gate, conv.weight(), conv.bias(), geometry, conv.act());
    }

    /** Stride, padding and groups of {@code conv} over {@code x}. */
    private Conv2dSpec geometry(ConvBn conv, Tensor x) {
        int h = x.size(2);
        int w = x.size(3);
        int k = conv.kernel();
        int s = conv.stride();
        if (spec.tfSamePadding() && !(s == 1 && (k - 1) % 2 == 0)) {
            int padH = samePadding(h, k, s);
            int padW = samePadding(w, k, s);
            return new Conv2dSpec(s, s, padH / 2, padH - padH / 2, padW / 2, padW - padW / 2,
                    1, 1, conv.groups());
        }
        return Conv2dSpec.symmetric(s, ((s - 1) + (k - 1)) / 2, 1, conv.groups());
    }

    /** TensorFlow 'SAME' total padding along one axis of size {@code size}. */
    static int samePadding(int size, int kernel, int stride) {
        int outSize = (size + stride - 1) / stride;
        return Math.max((outSize - 1) * stride + kernel - size, 0);
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        // features, global average pool
        Tensor features = forwardFeatures(backend, x);
        Tensor pooled = backend.globalAvgPool(features);
        features.close();
        if (numClasses == 0) {
            return pooled;
        }

        // classifier
        Tensor logits = backend.linear(pooled, classifierWeight, classifierBias,
                Activation.IDENTITY);
        pooled.close();
        return logits;
    }

    @Override
    public void close() {
        for (Tensor t : uploaded) {
            t.close();
        }
        uploaded.clear();
        blocks = null;
    }
}
