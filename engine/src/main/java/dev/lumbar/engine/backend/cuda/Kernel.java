package dev.lumbar.engine.backend.cuda;

/**
 * The engine's CUDA kernels, by the {@code extern "C"} names they have in
 * {@code kernels/src/main/cuda}. The backend looks up every one when it starts, so a fatbin
 * that lacks one fails at start-up, not in the middle of a study.
 */
public enum Kernel {
    BIAS_ACT("lumbar_bias_act"),
    ADD("lumbar_add"),
    SCALE_CHANNELS("lumbar_scale_channels"),
    PAD_2D("lumbar_pad2d"),
    LAYER_NORM_LAST_DIM("lumbar_layer_norm_last_dim"),
    LAYER_NORM_CHANNELS("lumbar_layer_norm_channels"),
    GLOBAL_POOL("lumbar_global_pool"),
    SOFTMAX_LAST_DIM("lumbar_softmax_last_dim"),
    SE_GATE("lumbar_se_gate"),
    ATTENTION_POOL("lumbar_attention_pool"),
    NCHW_TO_NHWC("lumbar_nchw_to_nhwc"),
    NHWC_TO_NCHW("lumbar_nhwc_to_nchw"),
    F32_TO_F16("lumbar_f32_to_f16"),
    F16_TO_F32("lumbar_f16_to_f32"),
    F32_TO_BF16("lumbar_f32_to_bf16"),
    BF16_TO_F32("lumbar_bf16_to_f32"),
    ROI_SAMPLE("lumbar_roi_sample"),
    ROI_NORMALIZE("lumbar_roi_normalize");

    private final String symbol;

    Kernel(String symbol) {
        this.symbol = symbol;
    }

    /** The kernel's name in the fatbin. */
    public String symbol() {
        return symbol;
    }
}
