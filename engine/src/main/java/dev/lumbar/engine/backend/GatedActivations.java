package dev.lumbar.engine.backend;

import dev.lumbar.engine.tensor.Tensor;

/**
 * A convolution's output and the squeeze-excite gate of that output ({@code [N, C]}), as
 * {@link Backend#conv2dWithGate} returns them; the caller owns both and closing this closes
 * both.
 */
public record GatedActivations(Tensor activations, Tensor gate) implements AutoCloseable {

    @Override
    public void close() {
        try (Tensor output = activations; Tensor excitation = gate) {
            // each is closed even if closing the other throws
        }
    }
}
