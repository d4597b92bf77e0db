/**
 * The CUDA backend: the {@link dev.lumbar.engine.backend.Backend} operations on an NVIDIA GPU
 * through cuDNN (convolutions), cuBLAS (matrix products) and the engine's own kernels (every
 * other operation, the attention pooling of the MIL head and the ROI sampler), all called
 * through {@code dev.lumbar.bindings}.
 *
 * <p>Invariants: a CUDA tensor's segment holds a device address and is never dereferenced on
 * the host; activations are NCHW F32 on the device in every precision mode (F16 and BF16 are
 * operand types of convolutions and GEMMs only, with F32 accumulation); device memory comes
 * from one caching allocator with a hard limit and goes back to it when a tensor is closed;
 * all work runs in order on one stream, so only downloads wait for the device.
 *
 * <p>{@link dev.lumbar.engine.backend.cuda.GpuParity} is the self-check that compares every
 * operation with the CPU backend; the GPU tests and the stand-alone GPU check run it.
 */
package dev.lumbar.engine.backend.cuda;
