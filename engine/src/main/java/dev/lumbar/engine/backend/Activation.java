package dev.lumbar.engine.backend;

/** Pointwise activations the backends fuse into convolutions and linear layers. */
public enum Activation {
    IDENTITY,
    RELU,
    /** Exact GELU, {@code x · Φ(x)} with the error function, as {@code nn.GELU()} computes. */
    GELU,
    /** {@code x · sigmoid(x)}, also called swish. */
    SILU,
    SIGMOID,
    TANH
}
