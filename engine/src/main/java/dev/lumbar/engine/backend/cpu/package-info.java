/**
 * The CPU backend: {@link dev.lumbar.engine.backend.cpu.CpuBackend} and its kernels.
 *
 * <p>Tensors are NCHW F32 in off-heap segments; kernels read and write them through the Vector
 * API ({@code FloatVector.fromMemorySegment}) with the platform's preferred vector width, and
 * handle the ragged ends of rows with masks. Every operation allocates its output and leaves
 * its inputs untouched.
 *
 * <p>Threads: each backend owns a fixed pool of workers, and the thread that calls an
 * operation works alongside them. Kernels split their work into independent pieces (images ×
 * planes, pixel chunks, row and column blocks of a matrix product) that write disjoint parts
 * of the output, so no piece waits on another. Scratch memory (packing buffers, padded
 * planes, im2col tiles) is per thread. These are the only threads: OpenBLAS is set to one
 * thread and called from the workers, so that its spinning threads never compete with them.
 *
 * <p>Matrix products go through {@code Gemm}: OpenBLAS when it is installed (one call per
 * piece of the product, pieces chosen from the shape alone), or the engine's blocked, packed
 * Java GEMM. Convolutions by im2col fill one L2-sized column tile per task and multiply it
 * there and then. Three products skip {@code Gemm} whatever is installed: 1×1 convolutions
 * over small images of a batch, the ConvNeXt channel MLP and dense stride-1 convolutions run
 * on {@code PixelProducts}, which packs pixels (or windows) straight from NCHW and sums each
 * output in float, by fused multiply-adds in chunks of 512 terms. Numerics elsewhere:
 * reductions run in float vector lanes over short stretches and are combined in double;
 * layer norms shift by one sample before summing and take the variance as a second pass over
 * the deviations.
 *
 * <p>Reproducibility: every output value is computed by one fixed sequence of IEEE float
 * operations, whatever the thread count and however far the JIT has compiled the kernel.
 * Work is split only across outputs (rows, planes, tiles), never inside one output's sum;
 * lanes are combined in a fixed order; exp and tanh come from {@code VectorMath}, not from
 * {@code lanewise(EXP)}, whose interpreted and compiled forms round differently.
 */
package dev.lumbar.engine.backend.cpu;
