package dev.lumbar.engine.backend.cpu;

import java.lang.foreign.MemorySegment;

/**
 * Single-precision matrix products over off-heap memory, row-major, in batches:
 * {@code C[b] = op(A[b]) · op(B[b])} (plus the old {@code C[b]} when {@code accumulate}) for
 * b in [0, batch). {@code op(A)} is {@code m × k}, {@code op(B)} is {@code k × n}; offsets,
 * batch strides and leading dimensions count elements, and a batch stride of 0 shares one
 * matrix (a layer's weights) across the batch.
 */
interface Gemm {

    /** What computes the products, for logs, e.g. {@code OpenBLAS 0.3.21}. */
    String describe();

    void multiply(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int ldc, boolean accumulate);
}
