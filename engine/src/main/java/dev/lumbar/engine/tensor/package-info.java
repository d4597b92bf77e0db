/**
 * Tensors: dense, row-major, off-heap.
 *
 * <p>Layout: activations are NCHW ({@code [N, C, H, W]}), the layout PyTorch checkpoints and
 * timm use, so weights load without transposition and parity tests compare element for
 * element. The CPU backend's hot kernels are written for this layout: a 1×1 convolution is a
 * GEMM of {@code [Cout, Cin] × [Cin, H·W]} per image, a depthwise convolution sweeps contiguous
 * rows with vector lanes along W, and channel LayerNorm reduces across channel planes with
 * vector lanes along H·W. Bags of slices are {@code [B, S, C, H, W]} at the pipeline level and
 * are flattened to {@code [B·S, C, H, W]} for the encoder.
 *
 * <p>Byte order is little-endian, as in safetensors, npy and every supported platform.
 *
 * <p>Ownership: a tensor made by {@code Tensor.allocate} owns zero-filled memory and frees it
 * on {@code close()}; a tensor made by {@code BufferPool.allocate} owns uninitialised memory
 * and {@code close()} returns it to its pool, where the next allocation of a similar size
 * reuses it. A tensor made by {@code wrap} or {@code reshape} borrows and must not outlive the
 * owner: a view of a closed pooled tensor does not fail but reads whatever the buffer's next
 * user wrote, so views are closed (or dropped) before their parent. Every tensor that owns
 * memory is closed exactly once; a second {@code close()} is a no-op.
 *
 * <p>Compute is F32; F16 and BF16 appear only as weight storage and are widened on load.
 */
package dev.lumbar.engine.tensor;
