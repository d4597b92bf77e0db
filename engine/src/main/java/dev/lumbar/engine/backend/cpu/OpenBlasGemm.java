package dev.lumbar.engine.backend.cpu;

import dev.lumbar.bindings.OpenBlas;
import java.lang.foreign.MemorySegment;

/**
 * Products through OpenBLAS's {@code cblas_sgemm}, one OpenBLAS thread per call, the calls
 * spread over the backend's own workers.
 *
 * <p>Why not let OpenBLAS thread each call: its threads spin for a while after every call,
 * waiting for the next one, and so compete for the cores with the workers that run everything
 * between products (im2col, epilogues, depthwise, pooling). On a 2-core machine that made the
 * dense 3×3 convolutions of an EfficientNet-V2 run at half speed. With one pool of threads
 * there is nothing to compete with, and a worker can fill a column tile, multiply it and apply
 * the epilogue while the tile is still in its own cache.
 */
final class OpenBlasGemm implements Gemm {

    /** Products of up to this many floating-point operations per batch item run whole. */
    private static final double TASK_FLOPS = 128e6;
    /** Products of fewer items than this are cut further, down to MIN_TASK_FLOPS a piece. */
    private static final int MIN_TASKS = 4;
    private static final double MIN_TASK_FLOPS = 16e6;
    /** No piece of a split product is narrower or shorter than this (OpenBLAS packs per call). */
    private static final int MIN_PIECE = 128;
    /** Pieces are multiples of this, the width of OpenBLAS's register tiles. */
    private static final int ALIGN = 16;

    private final OpenBlas blas;
    private final WorkerPool workers;

    /**
     * Products on {@code workers}, each call of OpenBLAS on one thread.
     *
     * <p>OpenBLAS keeps one thread count per process; this sets it to one. Code that times
     * OpenBLAS on its own threads (a benchmark's ceiling) sets it back to one when done.
     */
    OpenBlasGemm(OpenBlas blas, WorkerPool workers) {
        this.blas = blas;
        this.workers = workers;
        blas.setThreads(1);
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
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        // (batch item, row piece, column piece) tasks. The pieces follow from the shape alone,
        // never from the thread count: OpenBLAS's result for an element can depend on the
        // size of the call it is in (small calls take other kernels), and the backend gives
        // the same bits on any number of threads. Products up to TASK_FLOPS per item stay
        // whole, unless there are fewer than MIN_TASKS items (one image, a head's product) and
        // the pieces would still be worth a call; the rest are halved along their longer
        // side, keeping pieces square-ish so that each packs little for what it computes.
        // LIMITATION: OpenBLAS packs both operands on every call, so a layer's weights are
        // packed again for every image, piece and im2col tile (about a tenth of a dense 3×3
        // convolution's time); its packed-matrix interface is not bound.
        int rowPieces = 1;
        int colPieces = 1;
        while (2.0 * (m / rowPieces) * (n / colPieces) * k > TASK_FLOPS
                || ((long) batch * rowPieces * colPieces < MIN_TASKS
                        && 2.0 * (m / rowPieces) * (n / colPieces) * k > MIN_TASK_FLOPS)) {
            boolean colsSplit = n / (2 * colPieces) >= MIN_PIECE;
            boolean rowsSplit = m / (2 * rowPieces) >= MIN_PIECE;
            if (colsSplit && (!rowsSplit || n / colPieces >= m / rowPieces)) {
                colPieces *= 2;
            } else if (rowsSplit) {
                rowPieces *= 2;
            } else {
                break;
            }
        }
        int rowStep = roundUp(ceilDiv(m, rowPieces), ALIGN);
        int colStep = roundUp(ceilDiv(n, colPieces), ALIGN);
        int rows = ceilDiv(m, rowStep);
        int cols = ceilDiv(n, colStep);
        workers.forEach(batch * rows * cols, t -> {
            int item = t / (rows * cols);
            int i0 = (t % (rows * cols)) / cols * rowStep;
            int j0 = t % cols * colStep;
            int mb = Math.min(rowStep, m - i0);
            int nb = Math.min(colStep, n - j0);
            piece(mb, nb, k,
                    a, aOffset + item * aBatchStride + (transA ? i0 : (long) i0 * lda), lda, transA,
                    b, bOffset + item * bBatchStride + (transB ? (long) j0 * ldb : j0), ldb, transB,
                    c, cOffset + item * cBatchStride + (long) i0 * ldc + j0, ldc, accumulate,
                    epilogue, i0);
        });
    }

    @Override
    public void multiplyPiece(int m, int n, int k,
            MemorySegment a, long aOffset, int lda, boolean transA,
            MemorySegment b, long bOffset, int ldb, boolean transB,
            MemorySegment c, long cOffset, int ldc, Epilogue epilogue) {
        if (m == 0 || n == 0) {
            return;
        }
        piece(m, n, k, a, aOffset, lda, transA, b, bOffset, ldb, transB, c, cOffset, ldc,
                false, epilogue, 0);
    }

    /**
     * One OpenBLAS call on the calling thread, then the epilogue on its block of C (rows
     * {@code firstRow} onwards of the whole product) while the block is still in cache.
     */
    private void piece(int mb, int nb, int k,
            MemorySegment a, long aAt, int lda, boolean transA,
            MemorySegment b, long bAt, int ldb, boolean transB,
            MemorySegment c, long cAt, int ldc, boolean accumulate, Epilogue epilogue,
            int firstRow) {
        MemorySegment ci = c.asSlice(cAt * Float.BYTES, span(mb, nb, ldc));
        if (k == 0) {
            if (!accumulate) {
                zeroRows(ci, mb, nb, ldc);
            }
        } else {
            blas.sgemm(transA, transB, mb, nb, k, 1f,
                    a.asSlice(aAt * Float.BYTES, span(transA ? k : mb, transA ? mb : k, lda)),
                    lda,
                    b.asSlice(bAt * Float.BYTES, span(transB ? nb : k, transB ? k : nb, ldb)),
                    ldb, accumulate ? 1f : 0f, ci, ldc);
        }
        if (epilogue != null) {
            for (int r = 0; r < mb; r++) {
                epilogue.row(c, cAt + (long) r * ldc, nb, firstRow + r);
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int roundUp(int a, int multiple) {
        return (a + multiple - 1) / multiple * multiple;
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
