package dev.lumbar.engine.backend;

import dev.lumbar.engine.tensor.Tensor;

/**
 * The weights of an inverted-residual block with a squeeze-excite gate (EfficientNet's
 * MBConv), as {@link Backend#invertedResidual} takes them: a 1×1 expansion, a depthwise
 * convolution, the gate of the depthwise output, and a 1×1 projection without activation.
 * Biases may be null.
 */
public record InvertedResidual(Conv expand, Conv depthwise, Gate gate, Conv project) {

    /** One convolution of the block: {@code act(conv(x, weight, spec) + bias)}. */
    public record Conv(Tensor weight, Tensor bias, Conv2dSpec spec, Activation act) { }

    /**
     * A squeeze-excite gate, as for {@link Backend#squeezeExciteGate}: reduce with
     * {@code act}, expand, sigmoid.
     */
    public record Gate(Tensor reduceWeight, Tensor reduceBias, Tensor expandWeight,
            Tensor expandBias, Activation act) { }
}
