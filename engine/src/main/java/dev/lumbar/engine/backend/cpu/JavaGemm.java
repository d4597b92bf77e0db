package dev.lumbar.engine.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The engine's own matrix product: blocked and packed in the usual way, with a Vector API
 * micro-kernel that keeps a {@value #MR} × (2 vectors) tile of C in registers.
 *
 * <p>Blocking: {@code op(B)} is packed {@value #KC} rows × up to {@value #NC} columns at a
 * time into column strips of {@code NR} (each strip {@code [kc][NR]}, read by the kernel while
 * it stays in L1); {@code op(A)} is packed {@value #MC} rows at a time into row strips of
 * {@value #MR} (each {@code [kc][MR]}). Strips at the edges are padded with zeros and their
 * results copied out through a small tile. Work is split into independent (batch, row group,
 * column block) tasks, each with its own packing buffers, so threads never share writes.
 */
final class JavaGemm implements Gemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 6;
    static final int NR = 2 * L;
    static final int KC = 192;
    static final int MC = 16 * MR;
    static final int NC = 32 * NR;

    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final WorkerPool workers;
    private final ThreadLocal<Buffers> buffers = ThreadLocal.withInitial(Buffers::new);

    JavaGemm(WorkerPool workers) {
        this.workers = workers;
    }

    @Override
    public String describe() {
        return "Java GEMM, " + L * 32 + "-bit vectors";
    }

    private static final class Buffers {
        final float[] aPack = new float[MC * KC];
        final float[] bPack = new float[KC * NC];
        final float[] tile = new float[MR * NR];
    }

    @Override
    public void multiply(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int ldc, boolean accumulate,
            Epilogue epilogue) {
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        if (n < NR && m > n) {
            // narrow products (the last stages of a backbone, a few pixels per image) would fill
            // only part of each register tile, so compute C^T = op(B)^T · op(A)^T instead
            // and write the tiles transposed
            run(batch, n, m, k, b, bOffset, bBatchStride, ldb, !transB,
                    a, aOffset, aBatchStride, lda, !transA,
                    c, cOffset, cBatchStride, 1, ldc, accumulate, epilogue, true);
        } else {
            run(batch, m, n, k, a, aOffset, aBatchStride, lda, transA,
                    b, bOffset, bBatchStride, ldb, transB,
                    c, cOffset, cBatchStride, ldc, 1, accumulate, epilogue, false);
        }
    }

    /**
     * The product with C addressed as {@code c[i · cRow + j · cCol]}; {@code transposed}: this
     * is the caller's product turned round, so its columns are the caller's rows.
     */
    private void run(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int cRow, int cCol,
            boolean accumulate, Epilogue epilogue, boolean transposed) {
        int rowBlocks = (m + MC - 1) / MC;
        int wanted = 2 * workers.parallelism();

        // Work splits into (batch, row group, column block) tasks. A task packs each stretch
        // of op(B) once and reuses it for all its row blocks, so rows are split only as far
        // as needed to give every thread work, and columns only after that.
        int colBlock = Math.min(NC, roundUp(n, NR));
        int colBlocks = (n + colBlock - 1) / colBlock;
        int rowGroups = Math.min(rowBlocks, ceilDiv(wanted, batch * colBlocks));
        while ((long) batch * colBlocks * rowGroups < wanted && colBlock > NR) {
            colBlock = roundUp(colBlock / 2, NR);
            colBlocks = (n + colBlock - 1) / colBlock;
        }
        int groupRows = ceilDiv(rowBlocks, rowGroups) * MC;
        int groups = ceilDiv(m, groupRows);
        int width = colBlock;
        int columns = colBlocks;
        long tasks = (long) batch * groups * columns;
        workers.forEach(Math.toIntExact(tasks), t -> {
            int bi = t / (groups * columns);
            int rest = t % (groups * columns);
            int i0 = (rest / columns) * groupRows;
            int j0 = (rest % columns) * width;
            int mb = Math.min(groupRows, m - i0);
            int nb = Math.min(width, n - j0);
            long cBase = cOffset + bi * cBatchStride;
            block(mb, nb, k,
                    a, aOffset + bi * aBatchStride + (transA ? i0 : (long) i0 * lda), lda, transA,
                    b, bOffset + bi * bBatchStride + (transB ? (long) j0 * ldb : j0), ldb, transB,
                    c, cBase + (long) i0 * cRow + (long) j0 * cCol, cRow, cCol, accumulate);
            if (epilogue != null) {
                finish(epilogue, c, cBase, i0, mb, j0, nb, cRow, cCol, transposed);
            }
        });
    }

    /**
     * The epilogue on the task's block of C, just written and still in this core's cache. The
     * caller's rows are contiguous: rows i of this product, or, where it is the caller's
     * product transposed, its columns j. Which, {@code cCol} cannot tell when C has a single
     * column (ldc 1: a 1×1 image's 1×1 convolution), so the caller says.
     */
    private static void finish(Epilogue epilogue, MemorySegment c, long cBase, int i0, int mb,
            int j0, int nb, int cRow, int cCol, boolean transposed) {
        if (!transposed) {
            for (int i = i0; i < i0 + mb; i++) {
                epilogue.row(c, cBase + (long) i * cRow + j0, nb, i);
            }
        } else {
            for (int j = j0; j < j0 + nb; j++) {
                epilogue.row(c, cBase + (long) j * cCol + i0, mb, j);
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int roundUp(int a, int multiple) {
        return ceilDiv(a, multiple) * multiple;
    }

    /** One task: C[mb × nb] (+)= op(A)[mb × k] · op(B)[k × nb], single-threaded. */
    private void block(int mb, int nb, int k,
            MemorySegment a, long aBase, int lda, boolean transA,
            MemorySegment b, long bBase, int ldb, boolean transB,
            MemorySegment c, long cBase, int cRow, int cCol, boolean accumulate) {
        Buffers buf = buffers.get();
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < mb; i++) {
                    for (int j = 0; j < nb; j++) {
                        c.set(F32, (cBase + (long) i * cRow + (long) j * cCol) * Float.BYTES, 0f);
                    }
                }
            }
            return;
        }
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = Math.min(KC, k - p0);
            boolean add = accumulate || p0 > 0;
            packB(b, transB ? bBase + p0 : bBase + (long) p0 * ldb, ldb, transB, kc, nb, buf);
            for (int i0 = 0; i0 < mb; i0 += MC) {
                int mc = Math.min(MC, mb - i0);
                long aRows = transA ? aBase + i0 : aBase + (long) i0 * lda;
                packA(a, transA ? aRows + (long) p0 * lda : aRows + p0, lda, transA, mc, kc,
                        buf);
                for (int j = 0; j < nb; j += NR) {
                    int cols = Math.min(NR, nb - j);
                    int bOff = j * kc;
                    for (int i = 0; i < mc; i += MR) {
                        int rows = Math.min(MR, mc - i);
                        kernel(kc, buf.aPack, i * kc, buf.bPack, bOff,
                                c, cBase + (long) (i0 + i) * cRow + (long) j * cCol, cRow,
                                cCol, add, rows, cols, buf.tile);
                    }
                }
            }
        }
    }

    /** Packs op(B)[kc × nb] into strips of NR columns, each laid out [kc][NR]. */
    private static void packB(MemorySegment b, long base, int ldb, boolean trans, int kc, int nb,
            Buffers buf) {
        float[] dst = buf.bPack;
        for (int j = 0; j < nb; j += NR) {
            int cols = Math.min(NR, nb - j);
            int strip = j * kc;
            if (!trans && cols == NR) {
                long at = (base + j) * Float.BYTES;
                long step = (long) ldb * Float.BYTES;
                for (int p = 0; p < kc; p++, at += step) {
                    FloatVector.fromMemorySegment(S, b, at, LE).intoArray(dst, strip + p * NR);
                    FloatVector.fromMemorySegment(S, b, at + (long) L * Float.BYTES, LE)
                            .intoArray(dst, strip + p * NR + L);
                }
            } else if (!trans) {
                // the ragged last strip: plain copies, as masked loads that reach past the
                // end of the memory fall back to one lane at a time
                long at = (base + j) * Float.BYTES;
                long step = (long) ldb * Float.BYTES;
                for (int p = 0; p < kc; p++, at += step) {
                    int d = strip + p * NR;
                    MemorySegment.copy(b, F32, at, dst, d, cols);
                    java.util.Arrays.fill(dst, d + cols, d + NR, 0f);
                }
            } else {
                for (int q = 0; q < NR; q++) {
                    if (q < cols) {
                        long at = (base + (long) (j + q) * ldb) * Float.BYTES;
                        for (int p = 0; p < kc; p++) {
                            dst[strip + p * NR + q] = b.get(F32, at + (long) p * Float.BYTES);
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            dst[strip + p * NR + q] = 0f;
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs op(A)[mb × kc] into strips of MR rows, each laid out [kc][MR].
     *
     * <p>LIMITATION: weights are packed again on every call (a scalar gather); products with
     * few columns and large weights (a linear layer on one row) spend most time here.
     */
    private static void packA(MemorySegment a, long base, int lda, boolean trans, int mb, int kc,
            Buffers buf) {
        float[] dst = buf.aPack;
        for (int i = 0; i < mb; i += MR) {
            int rows = Math.min(MR, mb - i);
            int strip = i * kc;
            for (int r = 0; r < MR; r++) {
                if (r >= rows) {
                    for (int p = 0; p < kc; p++) {
                        dst[strip + p * MR + r] = 0f;
                    }
                } else if (trans) {
                    long at = (base + i + r) * Float.BYTES;
                    long step = (long) lda * Float.BYTES;
                    for (int p = 0; p < kc; p++) {
                        dst[strip + p * MR + r] = a.get(F32, at + p * step);
                    }
                } else {
                    long at = (base + (long) (i + r) * lda) * Float.BYTES;
                    for (int p = 0; p < kc; p++) {
                        dst[strip + p * MR + r] = a.get(F32, at + (long) p * Float.BYTES);
                    }
                }
            }
        }
    }

    /** C tile [rows × cols] (+)= A strip [MR × kc] · B strip [kc × NR]. */
    private static void kernel(int kc, float[] ap, int aOff, float[] bp, int bOff,
            MemorySegment c, long cIndex, int cRow, int cCol, boolean add, int rows, int cols,
            float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int ai = aOff;
        int bi = bOff;
        for (int p = 0; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a0 = FloatVector.broadcast(S, ap[ai]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        // the tile goes out through an array: vector loads from C inside this long method
        // would not be inlined, and the boxed accumulators would cost three quarters of the speed
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        writeTile(tile, c, cIndex, cRow, cCol, add, rows, cols);
    }

    /** C[rows × cols] (+)= tile, row by row, masked at the right edge. */
    private static void writeTile(float[] tile, MemorySegment c, long cIndex, int cRow,
            int cCol, boolean add, int rows, int cols) {
        if (cCol != 1) {
            for (int r = 0; r < rows; r++) {
                for (int q = 0; q < cols; q++) {
                    long at = (cIndex + (long) r * cRow + (long) q * cCol) * Float.BYTES;
                    float v = tile[r * NR + q];
                    c.set(F32, at, add ? c.get(F32, at) + v : v);
                }
            }
            return;
        }
        int ldc = cRow;
        VectorMask<Float> lo = S.indexInRange(0, cols);
        VectorMask<Float> hi = S.indexInRange(L, cols);
        for (int r = 0; r < rows; r++) {
            long at = (cIndex + (long) r * ldc) * Float.BYTES;
            long atHi = at + (long) L * Float.BYTES;
            FloatVector v0 = FloatVector.fromArray(S, tile, r * NR);
            FloatVector v1 = FloatVector.fromArray(S, tile, r * NR + L);
            if (cols == NR) {
                if (add) {
                    v0 = v0.add(FloatVector.fromMemorySegment(S, c, at, LE));
                    v1 = v1.add(FloatVector.fromMemorySegment(S, c, atHi, LE));
                }
                v0.intoMemorySegment(c, at, LE);
                v1.intoMemorySegment(c, atHi, LE);
            } else {
                if (add) {
                    v0 = v0.add(FloatVector.fromMemorySegment(S, c, at, LE, lo));
                    v1 = v1.add(FloatVector.fromMemorySegment(S, c, atHi, LE, hi));
                }
                v0.intoMemorySegment(c, at, LE, lo);
                v1.intoMemorySegment(c, atHi, LE, hi);
            }
        }
    }
}
