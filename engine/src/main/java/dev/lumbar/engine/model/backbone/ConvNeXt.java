package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * timm's {@code ConvNeXt} with the default patch stem, four stages, layer scale and the
 * pool → LayerNorm → fc head ({@code head_norm_first=False}).
 *
 * <p>Both block flavours compute the same function: with {@code conv_mlp} (atto … nano) the
 * norm is {@code LayerNorm2d} and the MLP is two 1×1 convolutions; without it (tiny … xlarge)
 * the block permutes to channels-last and uses {@code LayerNorm} and {@code Linear}. Here both
 * run as a channel LayerNorm and 1×1 convolutions on NCHW; only the weight shapes differ
 * ({@code [4C, C, 1, 1]} versus {@code [4C, C]}). Every LayerNorm has eps 1e-6.
 */
final class ConvNeXt implements Backbone {

    private static final float LN_EPS = 1e-6f;
    private static final int PATCH = 4;
    private static final int KERNEL = 7;
    private static final int MIN_SIZE = 32;

    // LIMITATION: only the patch stem, the pool → norm → fc head and output stride 32 are
    // built; timm's _ols/_hnf/_mlp variants, ConvNeXt-V2 (GRN) and dilated output strides are
    // unknown names here and are refused by Backbones.create.

    /** Depths, widths and MLP flavour of timm's registered ConvNeXt models. */
    record Variant(int[] depths, int[] dims, boolean convMlp) { }

    static final Map<String, Variant> VARIANTS = Map.of(
            "convnext_atto", variant(2, 2, 6, 2, 40, true),
            "convnext_femto", variant(2, 2, 6, 2, 48, true),
            "convnext_pico", variant(2, 2, 6, 2, 64, true),
            "convnext_nano", variant(2, 2, 8, 2, 80, true),
            "convnext_tiny", variant(3, 3, 9, 3, 96, false),
            "convnext_small", variant(3, 3, 27, 3, 96, false),
            "convnext_base", variant(3, 3, 27, 3, 128, false),
            "convnext_large", variant(3, 3, 27, 3, 192, false),
            "convnext_xlarge", variant(3, 3, 27, 3, 256, false));

    /** Every registered ConvNeXt doubles its width at each stage. */
    private static Variant variant(int d0, int d1, int d2, int d3, int width, boolean convMlp) {
        return new Variant(new int[] {d0, d1, d2, d3},
                new int[] {width, 2 * width, 4 * width, 8 * width}, convMlp);
    }

    /** One residual block's uploaded weights. */
    private record Block(
            Tensor dwWeight,     // [C, 1, 7, 7]
            Tensor dwBias,       // [C]
            Tensor normWeight,   // [C]
            Tensor normBias,     // [C]
            Tensor fc1Weight,    // [4C, C, 1, 1]
            Tensor fc1Bias,      // [4C]
            Tensor fc2Weight,    // [C, 4C, 1, 1]
            Tensor fc2Bias,      // [C]
            Tensor gamma) { }    // [C]

    /** A stage's downsampling (absent in stage 0): LayerNorm2d then a 2×2 stride-2 conv. */
    private record Downsample(
            Tensor normWeight,   // [Cin]
            Tensor normBias,     // [Cin]
            Tensor convWeight,   // [C, Cin, 2, 2]
            Tensor convBias) { } // [C]

    private final String arch;
    private final int inChans;
    private final int numClasses;
    private final int[] depths;
    private final int[] dims;
    private final boolean convMlp;
    private final Map<String, long[]> expected;

    private final List<Tensor> uploaded = new ArrayList<>();
    private Tensor stemWeight;           // [D0, inChans, 4, 4]
    private Tensor stemBias;             // [D0]
    private Tensor stemNormWeight;       // [D0]
    private Tensor stemNormBias;         // [D0]
    private Downsample[] downsamples;    // [4], null at 0
    private Block[][] blocks;            // [4][depth]
    private Tensor headNormWeight;       // [D]
    private Tensor headNormBias;         // [D]
    private Tensor fcWeight;             // [K, D]
    private Tensor fcBias;               // [K]

    ConvNeXt(String arch, int inChans, int numClasses, int[] depths, int[] dims,
            boolean convMlp) {
        if (depths.length != 4 || dims.length != 4) {
            throw new IllegalArgumentException(arch + " needs 4 depths and 4 dims, got "
                    + Arrays.toString(depths) + " and " + Arrays.toString(dims));
        }
        for (int i = 0; i < 4; i++) {
            if (depths[i] < 1 || dims[i] < 1) {
                throw new IllegalArgumentException(arch + ": depths and dims must be positive, got "
                        + Arrays.toString(depths) + " and " + Arrays.toString(dims));
            }
        }
        Config.requireBuildable(arch, Arrays.stream(depths).asLongStream().sum(),
                Arrays.stream(dims).max().orElse(0) * 4L);
        this.arch = arch;
        this.inChans = inChans;
        this.numClasses = numClasses;
        this.depths = depths.clone();
        this.dims = dims.clone();
        this.convMlp = convMlp;
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
        return dims[3];
    }

    @Override
    public Map<String, long[]> expectedTensors() {
        return expected;
    }

    private Map<String, long[]> tensorShapes() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("stem.0.weight", new long[] {dims[0], inChans, PATCH, PATCH});
        shapes.put("stem.0.bias", new long[] {dims[0]});
        shapes.put("stem.1.weight", new long[] {dims[0]});
        shapes.put("stem.1.bias", new long[] {dims[0]});
        for (int s = 0; s < 4; s++) {
            String stage = "stages." + s + ".";
            int dim = dims[s];
            if (s > 0) {
                shapes.put(stage + "downsample.0.weight", new long[] {dims[s - 1]});
                shapes.put(stage + "downsample.0.bias", new long[] {dims[s - 1]});
                shapes.put(stage + "downsample.1.weight", new long[] {dim, dims[s - 1], 2, 2});
                shapes.put(stage + "downsample.1.bias", new long[] {dim});
            }
            for (int b = 0; b < depths[s]; b++) {
                String block = stage + "blocks." + b + ".";
                shapes.put(block + "gamma", new long[] {dim});
                shapes.put(block + "conv_dw.weight", new long[] {dim, 1, KERNEL, KERNEL});
                shapes.put(block + "conv_dw.bias", new long[] {dim});
                shapes.put(block + "norm.weight", new long[] {dim});
                shapes.put(block + "norm.bias", new long[] {dim});
                shapes.put(block + "mlp.fc1.weight", convMlp
                        ? new long[] {4L * dim, dim, 1, 1} : new long[] {4L * dim, dim});
                shapes.put(block + "mlp.fc1.bias", new long[] {4L * dim});
                shapes.put(block + "mlp.fc2.weight", convMlp
                        ? new long[] {dim, 4L * dim, 1, 1} : new long[] {dim, 4L * dim});
                shapes.put(block + "mlp.fc2.bias", new long[] {dim});
            }
        }
        shapes.put("head.norm.weight", new long[] {dims[3]});
        shapes.put("head.norm.bias", new long[] {dims[3]});
        if (numClasses > 0) {
            shapes.put("head.fc.weight", new long[] {numClasses, dims[3]});
            shapes.put("head.fc.bias", new long[] {numClasses});
        }
        return shapes;
    }

    @Override
    public void load(Function<String, Tensor> weights, Backend backend) {
        close();
        WeightSource source = new WeightSource(arch, weights, expected, backend, uploaded);
        source.checkAll();
        try {
            stemWeight = source.upload("stem.0.weight");
            stemBias = source.upload("stem.0.bias");
            stemNormWeight = source.upload("stem.1.weight");
            stemNormBias = source.upload("stem.1.bias");
            downsamples = new Downsample[4];
            blocks = new Block[4][];
            for (int s = 0; s < 4; s++) {
                String stage = "stages." + s + ".";
                long dim = dims[s];
                if (s > 0) {
                    downsamples[s] = new Downsample(
                            source.upload(stage + "downsample.0.weight"),
                            source.upload(stage + "downsample.0.bias"),
                            source.upload(stage + "downsample.1.weight"),
                            source.upload(stage + "downsample.1.bias"));
                }
                blocks[s] = new Block[depths[s]];
                for (int b = 0; b < depths[s]; b++) {
                    String block = stage + "blocks." + b + ".";
                    blocks[s][b] = new Block(
                            source.upload(block + "conv_dw.weight"),
                            source.upload(block + "conv_dw.bias"),
                            source.upload(block + "norm.weight"),
                            source.upload(block + "norm.bias"),
                            source.upload(block + "mlp.fc1.weight", 4 * dim, dim, 1, 1),
                            source.upload(block + "mlp.fc1.bias"),
                            source.upload(block + "mlp.fc2.weight", dim, 4 * dim, 1, 1),
                            source.upload(block + "mlp.fc2.bias"),
                            source.upload(block + "gamma"));
                }
            }
            headNormWeight = source.upload("head.norm.weight");
            headNormBias = source.upload("head.norm.bias");
            if (numClasses > 0) {
                fcWeight = source.upload("head.fc.weight");
                fcBias = source.upload("head.fc.bias");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public Tensor forwardFeatures(Backend backend, Tensor x) {
        requireLoaded();
        Backbones.requireInput(this, x);
        if (x.dim(2) < MIN_SIZE || x.dim(3) < MIN_SIZE) {
            // the stem and three downsamplings divide by 32; PyTorch fails on anything smaller
            throw new IllegalArgumentException(arch + " needs inputs of at least " + MIN_SIZE
                    + "×" + MIN_SIZE + " pixels, got " + x.dim(2) + "×" + x.dim(3));
        }

        // stem: 4×4 patches, stride 4, then LayerNorm2d
        Tensor patches = backend.conv2d(x, stemWeight, stemBias,
                Conv2dSpec.symmetric(PATCH, 0, 1, 1), Activation.IDENTITY);
        Tensor h = backend.layerNormChannels(patches, stemNormWeight, stemNormBias, LN_EPS);
        patches.close();

        for (int s = 0; s < 4; s++) {
            // downsample: LayerNorm2d then 2×2 stride-2 convolution
            if (downsamples[s] != null) {
                Downsample down = downsamples[s];
                Tensor normed = backend.layerNormChannels(h, down.normWeight, down.normBias,
                        LN_EPS);
                h.close();
                h = backend.conv2d(normed, down.convWeight, down.convBias,
                        Conv2dSpec.symmetric(2, 0, 1, 1), Activation.IDENTITY);
                normed.close();
            }

            // residual blocks, each taking its input over: the output may be added onto it
            for (Block block : blocks[s]) {
                h = block(backend, block, h, dims[s]);
            }
        }
        return h;
    }

    /**
     * {@code x + γ · fc2(gelu(fc1(norm(dwconv7×7(x)))))}; takes x over (the result may lie in
     * its memory), and closes it if the block fails.
     */
    private static Tensor block(Backend backend, Block block, Tensor x, int channels) {
        // depthwise 7×7, padding 3
        Tensor mixed;
        try {
            mixed = backend.conv2d(x, block.dwWeight, block.dwBias,
                    Conv2dSpec.symmetric(1, KERNEL / 2, 1, channels), Activation.IDENTITY);
        } catch (RuntimeException | Error e) {
            x.close();
            throw e;
        }

        // LayerNorm over channels (timm's LayerNorm2d, or channels-last LayerNorm), then the
        // MLP: 1×1 expand ×4 with exact GELU, 1×1 project back; layer scale and residual
        try (mixed) {
            return backend.normalizedChannelMlpOver(mixed, block.normWeight, block.normBias,
                    LN_EPS, block.fc1Weight, block.fc1Bias, Activation.GELU, block.fc2Weight,
                    block.fc2Bias, block.gamma, x);
        }
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        // features, global average pool
        Tensor features = forwardFeatures(backend, x);
        Tensor pooled = backend.globalAvgPool(features);
        features.close();

        // head: LayerNorm over the pooled channels, then the classifier
        Tensor normed = backend.layerNormLastDim(pooled, headNormWeight, headNormBias, LN_EPS);
        pooled.close();
        if (numClasses == 0) {
            return normed;
        }
        Tensor logits = backend.linear(normed, fcWeight, fcBias, Activation.IDENTITY);
        normed.close();
        return logits;
    }

    private void requireLoaded() {
        if (blocks == null) {
            throw new IllegalStateException(arch + " has no weights loaded");
        }
    }

    @Override
    public void close() {
        for (Tensor t : uploaded) {
            t.close();
        }
        uploaded.clear();
        blocks = null;
        downsamples = null;
    }
}
