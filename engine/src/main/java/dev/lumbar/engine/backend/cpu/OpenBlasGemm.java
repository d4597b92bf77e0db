package dev.lumbar.engine.backend.cpu;

import dev.lumbar.bindings.OpenBlas;
import java.lang.foreign.MemorySegment;

/** Products through OpenBLAS's {@code cblas_sgemm}, which threads each call itself. */
final class OpenBlasGemm implements Gemm {

    private final OpenBlas blas;
    private final WorkerPool workers;

    /** Products on {@code threads} OpenBLAS threads; epilogues run in the calling thread. */
    OpenBlasGemm(OpenBlas blas, int threads) {
        this(blas, threads, null);
    }

    /** Products on {@code threads} OpenBLAS threads; epilogues on {@code workers}. */
    OpenBlasGemm(OpenBlas blas, int threads, WorkerPool workers) {
        this.blas = blas;
        this.workers = workers;
        // LIMITATION: OpenBLAS keeps one thread count per process, so of several CPU backends
        // with different thread counts the last one created sets it for all of them.
        blas.setThreads(threads);
    }

    @Override
    public String describe() {
        return "OpenBLAS " + blas.version();
    }

    @Override
    public void multiply(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int ldc, boolean accumulate,
            Epilogue epilogue) {
        if (m == 0 || n == 0) {
            return;
        }
        long aSpan = span(transA ? k : m, transA ? m : k, lda);
        long bSpan = span(transB ? n : k, transB ? k : n, ldb);
        long cSpan = span(m, n, ldc);
        for (int i = 0; i < batch; i++) {
            MemorySegment ai = a.asSlice((aOffset + i * aBatchStride) * Float.BYTES, aSpan);
            MemorySegment bi = b.asSlice((bOffset + i * bBatchStride) * Float.BYTES, bSpan);
            MemorySegment ci = c.asSlice((cOffset + i * cBatchStride) * Float.BYTES, cSpan);
            if (k == 0) {
                if (!accumulate) {
                    zeroRows(ci, m, n, ldc);
                }
            } else {
                blas.sgemm(transA, transB, m, n, k, 1f, ai, lda, bi, ldb,
                        accumulate ? 1f : 0f, ci, ldc);
            }
            if (epilogue != null) {
                // item by item, while this item's C is still in the last-level cache
                long base = cOffset + i * cBatchStride;
                if (workers == null) {
                    for (int r = 0; r < m; r++) {
                        epilogue.row(c, base + (long) r * ldc, n, r);
                    }
                } else {
                    workers.forEach(m, r -> epilogue.row(c, base + (long) r * ldc, n, r));
                }
            }
        }
    }

    private static long span(int rows, int cols, int ld) {
        return rows == 0 || cols == 0 ? 0 : ((long) (rows - 1) * ld + cols) * Float.BYTES;
    }

    private static void zeroRows(MemorySegment c, int m, int n, int ldc) {
        for (int r = 0; r < m; r++) {
            c.asSlice((long) r * ldc * Float.BYTES, (long) n * Float.BYTES).fill((byte) 0);
        }
    }
}
