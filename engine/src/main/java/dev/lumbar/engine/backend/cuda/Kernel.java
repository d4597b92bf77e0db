package dev.lumbar.engine.backend.cuda;

/**
 * The engine's CUDA kernels, by the {@code extern "C"} names they have in
 * {@code kernels/src/main/cuda}. The backend looks up every one when it starts, so a fatbin
 * that lacks one fails at start-up, not in the middle of a study.
 */
public enum Kernel {
    BIAS_ACT("lumbar_bias_act", "pppilli"),
    ADD("lumbar_add", "pppl"),
    SCALE_CHANNELS("lumbar_scale_channels", "ppppilli"),
    PAD_2D("lumbar_pad2d", "ppliiiiii"),
    LAYER_NORM_LAST_DIM("lumbar_layer_norm_last_dim", "pppplif"),
    LAYER_NORM_CHANNELS("lumbar_layer_norm_channels", "ppppiilf"),
    GLOBAL_POOL("lumbar_global_pool", "pplli"),
    SOFTMAX_LAST_DIM("lumbar_softmax_last_dim", "ppli"),
    SE_GATE("lumbar_se_gate", "ppppppiii"),
    ATTENTION_POOL("lumbar_attention_pool", "pppppiii"),
    NCHW_TO_NHWC("lumbar_nchw_to_nhwc", "ppiil"),
    NHWC_TO_NCHW("lumbar_nhwc_to_nchw", "ppiil"),
    F32_TO_F16("lumbar_f32_to_f16", "ppl"),
    F16_TO_F32("lumbar_f16_to_f32", "ppl"),
    F32_TO_BF16("lumbar_f32_to_bf16", "ppl"),
    BF16_TO_F32("lumbar_bf16_to_f32", "ppl"),
    ROI_SAMPLE("lumbar_roi_sample", "pppppiiiii"),
    ROI_NORMALIZE("lumbar_roi_normalize", "plli"),
    BAG_SAMPLE("lumbar_bag_sample", "pppppppi"),
    BAG_NORMALIZE("lumbar_bag_normalize", "ppppi");

    private final String symbol;
    private final String parameters;

    /**
     * @param parameters the C parameter list, one letter each: {@code p} a device pointer,
     *                   {@code i} an {@code int}, {@code l} a {@code long long}, {@code f} a
     *                   {@code float}
     */
    Kernel(String symbol, String parameters) {
        this.symbol = symbol;
        this.parameters = parameters;
    }

    /** The kernel's parameter kinds, as {@link KernelArguments#signature()} writes them. */
    public String parameters() {
        return parameters;
    }

    /** The kernel's name in the fatbin. */
    public String symbol() {
        return symbol;
    }
}
