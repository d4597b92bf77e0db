package dev.lumbar.engine.backend.cpu;

import dev.lumbar.engine.backend.Activation;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

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

    /** The product without an epilogue. */
    default void multiply(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int ldc, boolean accumulate) {
        multiply(batch, m, n, k, a, aOffset, aBatchStride, lda, transA,
                b, bOffset, bBatchStride, ldb, transB,
                c, cOffset, cBatchStride, ldc, accumulate, null);
    }

    /**
     * The product, then {@code epilogue} (when not null) on each finished part of C while that
     * part is still in cache, rather than as a second pass over the whole output.
     */
    void multiply(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int ldc, boolean accumulate,
            Epilogue epilogue);

    /**
     * {@code C = op(A) · op(B)}, then {@code epilogue}, as one piece of work on the calling
     * thread: for callers that have already cut their work into tasks (an im2col tile), so
     * that the product is not cut again. The default is {@link #multiply} of a batch of one.
     */
    default void multiplyPiece(int m, int n, int k,
            MemorySegment a, long aOffset, int lda, boolean transA,
            MemorySegment b, long bOffset, int ldb, boolean transB,
            MemorySegment c, long cOffset, int ldc, Epilogue epilogue) {
        multiply(1, m, n, k, a, aOffset, 0, lda, transA, b, bOffset, 0, ldb, transB,
                c, cOffset, 0, ldc, false, epilogue);
    }

    /**
     * {@code C[i][j] = act(C[i][j] + bias[biasIndex + i])} for every row i of C in every batch
     * item (no bias when {@code bias} is null): a convolution's bias and activation, one
     * output channel per row.
     */
    record Epilogue(MemorySegment bias, long biasIndex, Activation act) {

        private static final ValueLayout.OfFloat F32 =
                ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        /** Whether it changes anything; a no-op epilogue is passed as null. */
        static Epilogue of(MemorySegment bias, long biasIndex, Activation act) {
            return bias == null && act == Activation.IDENTITY
                    ? null : new Epilogue(bias, biasIndex, act);
        }

        /** Applies it to {@code count} floats of row {@code row} from element {@code at}. */
        void row(MemorySegment c, long at, long count, int row) {
            float b = bias == null ? 0f : bias.getAtIndex(F32, biasIndex + row);
            long offset = at * Float.BYTES;
            Pointwise.biasActivate(c, offset, c, offset, count, b, act);
        }
    }
}
