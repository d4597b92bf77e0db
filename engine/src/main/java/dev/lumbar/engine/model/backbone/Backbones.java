package dev.lumbar.engine.model.backbone;

import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Builds backbones from timm architecture names. */
public final class Backbones {

    private static final Set<String> CONVNEXT_KEYS = Set.of("depths", "dims");
    private static final Set<String> EFFICIENTNET_KEYS =
            Set.of("channel_multiplier", "depth_multiplier", "blocks");

    private Backbones() {
    }

    /**
     * The backbone {@code timm.create_model(arch, num_classes=numClasses, in_chans=inChans)}
     * would build, without weights.
     *
     * @param config overrides from a model card's {@code backbone.config} (may be empty or
     *               null): {@code depths}, {@code dims} for ConvNeXt; {@code channel_multiplier},
     *               {@code depth_multiplier}, {@code blocks} for EfficientNet
     * @throws IllegalArgumentException for an unknown architecture or a bad override
     */
    public static Backbone create(String arch, int inChans, int numClasses,
            Map<String, Object> config) {
        Map<String, Object> overrides = config == null ? Map.of() : config;
        if (inChans < 1 || numClasses < 0) {
            throw new IllegalArgumentException(arch + ": in_chans must be ≥ 1 and"
                    + " num_classes ≥ 0, got " + inChans + " and " + numClasses);
        }
        // LIMITATION: tensors are those of the full model; a checkpoint saved from timm's
        // features_only wrapper (ConvNeXt's stem_0…/stages_0… names, EfficientNet without
        // conv_head/bn2) is refused by the shape check and needs converting first.
        ConvNeXt.Variant variant = ConvNeXt.VARIANTS.get(arch);
        if (variant != null) {
            Config.requireKnownKeys(arch, overrides, CONVNEXT_KEYS);
            return new ConvNeXt(arch, inChans, numClasses,
                    Config.intArray(overrides, "depths", variant.depths()),
                    Config.intArray(overrides, "dims", variant.dims()), variant.convMlp());
        }
        if (EfficientNetArch.supports(arch)) {
            Config.requireKnownKeys(arch, overrides, EFFICIENTNET_KEYS);
            return new EfficientNet(arch, inChans, numClasses,
                    EfficientNetArch.build(arch, overrides));
        }
        throw new IllegalArgumentException("unknown backbone architecture '" + arch
                + "'; supported: " + supportedArchs());
    }

    /** Every architecture name {@link #create} accepts, sorted. */
    public static List<String> supportedArchs() {
        Set<String> names = new TreeSet<>(ConvNeXt.VARIANTS.keySet());
        names.addAll(EfficientNetArch.supportedArchs());
        return new ArrayList<>(names);
    }

    /** Checks that {@code x} is an F32 {@code [N, inChans, H, W]} batch. */
    static void requireInput(Backbone backbone, Tensor x) {
        if (x.rank() != 4 || x.dim(1) != backbone.inChans() || x.dtype() != DType.F32) {
            throw new IllegalArgumentException(backbone.arch() + " expects an F32 input [N, "
                    + backbone.inChans() + ", H, W], got " + x.dtype() + " "
                    + Arrays.toString(x.shape()));
        }
    }
}
