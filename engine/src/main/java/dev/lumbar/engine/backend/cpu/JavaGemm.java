package dev.lumbar.engine.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The engine's own matrix product: blocked and packed in the usual way, with a Vector API
 * micro-kernel that keeps a {@value #MR} × (2 vectors) tile of C in registers.
 *
 * <p>Blocking: {@code op(B)} is packed {@value #KC} rows × up to {@value #NC} columns at a
 * time into column strips of {@code NR} (each strip {@code [kc][NR]}, read by the kernel while
 * it stays in L1); {@code op(A)} is packed {@value #MC} rows at a time into row strips of
 * {@value #MR} (each {@code [kc][MR]}). Strips at the edges are padded with zeros and their
 * results copied out through a small tile. Work is split into independent (batch, row block,
 * column block) tasks, each with its own packing buffers, so threads never share writes.
 */
final class JavaGemm implements Gemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 6;
    static final int NR = 2 * L;
    static final int KC = 256;
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
        final float[] row = new float[Math.max(KC, NC)];
        final float[] tile = new float[MR * NR];
    }

    @Override
    public void multiply(int batch, int m, int n, int k,
            MemorySegment a, long aOffset, long aBatchStride, int lda, boolean transA,
            MemorySegment b, long bOffset, long bBatchStride, int ldb, boolean transB,
            MemorySegment c, long cOffset, long cBatchStride, int ldc, boolean accumulate) {
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        int rowBlocks = (m + MC - 1) / MC;

        // narrower column blocks when there are too few tasks to keep every thread busy
        int nc = NC;
        while (nc > NR && (long) batch * rowBlocks * ((n + nc - 1) / nc)
                < 2L * workers.threads()) {
            nc -= NR * Math.max(1, nc / NR / 2);
        }
        int colBlock = Math.max(NR, nc);
        int colBlocks = (n + colBlock - 1) / colBlock;
        long tasks = (long) batch * rowBlocks * colBlocks;
        workers.forEach(Math.toIntExact(tasks), t -> {
            int bi = t / (rowBlocks * colBlocks);
            int rest = t % (rowBlocks * colBlocks);
            int i0 = (rest / colBlocks) * MC;
            int j0 = (rest % colBlocks) * colBlock;
            block(Math.min(MC, m - i0), Math.min(colBlock, n - j0), k,
                    a, aOffset + bi * aBatchStride + (transA ? i0 : (long) i0 * lda), lda, transA,
                    b, bOffset + bi * bBatchStride + (transB ? (long) j0 * ldb : j0), ldb, transB,
                    c, cOffset + bi * cBatchStride + (long) i0 * ldc + j0, ldc, accumulate);
        });
    }

    /** One task: C[mb × nb] (+)= op(A)[mb × k] · op(B)[k × nb], single-threaded. */
    private void block(int mb, int nb, int k,
            MemorySegment a, long aBase, int lda, boolean transA,
            MemorySegment b, long bBase, int ldb, boolean transB,
            MemorySegment c, long cBase, int ldc, boolean accumulate) {
        Buffers buf = buffers.get();
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < mb; i++) {
                    c.asSlice((cBase + (long) i * ldc) * Float.BYTES, (long) nb * Float.BYTES)
                            .fill((byte) 0);
                }
            }
            return;
        }
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = Math.min(KC, k - p0);
            boolean add = accumulate || p0 > 0;
            packB(b, transB ? bBase + p0 : bBase + (long) p0 * ldb, ldb, transB, kc, nb, buf);
            packA(a, transA ? aBase + (long) p0 * lda : aBase + p0, lda, transA, mb, kc, buf);
            for (int j = 0; j < nb; j += NR) {
                int cols = Math.min(NR, nb - j);
                int bOff = j * kc;
                for (int i = 0; i < mb; i += MR) {
                    int rows = Math.min(MR, mb - i);
                    kernel(kc, buf.aPack, i * kc, buf.bPack, bOff,
                            c, cBase + (long) i * ldc + j, ldc, add, rows, cols, buf.tile);
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
            if (!trans) {
                for (int p = 0; p < kc; p++) {
                    int d = strip + p * NR;
                    MemorySegment.copy(b, F32, (base + (long) p * ldb + j) * Float.BYTES,
                            dst, d, cols);
                    for (int q = cols; q < NR; q++) {
                        dst[d + q] = 0f;
                    }
                }
            } else {
                float[] row = buf.row;
                for (int q = 0; q < NR; q++) {
                    if (q < cols) {
                        MemorySegment.copy(b, F32, (base + (long) (j + q) * ldb) * Float.BYTES,
                                row, 0, kc);
                        for (int p = 0; p < kc; p++) {
                            dst[strip + p * NR + q] = row[p];
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

    /** Packs op(A)[mb × kc] into strips of MR rows, each laid out [kc][MR]. */
    private static void packA(MemorySegment a, long base, int lda, boolean trans, int mb, int kc,
            Buffers buf) {
        float[] dst = buf.aPack;
        for (int i = 0; i < mb; i += MR) {
            int rows = Math.min(MR, mb - i);
            int strip = i * kc;
            if (trans) {
                for (int p = 0; p < kc; p++) {
                    int d = strip + p * MR;
                    MemorySegment.copy(a, F32, (base + (long) p * lda + i) * Float.BYTES,
                            dst, d, rows);
                    for (int r = rows; r < MR; r++) {
                        dst[d + r] = 0f;
                    }
                }
            } else {
                float[] row = buf.row;
                for (int r = 0; r < MR; r++) {
                    if (r < rows) {
                        MemorySegment.copy(a, F32, (base + (long) (i + r) * lda) * Float.BYTES,
                                row, 0, kc);
                        for (int p = 0; p < kc; p++) {
                            dst[strip + p * MR + r] = row[p];
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            dst[strip + p * MR + r] = 0f;
                        }
                    }
                }
            }
        }
    }

    /** C tile [rows × cols] (+)= A strip [MR × kc] · B strip [kc × NR]. */
    private static void kernel(int kc, float[] ap, int aOff, float[] bp, int bOff,
            MemorySegment c, long cIndex, int ldc, boolean add, int rows, int cols,
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
        if (rows == MR && cols == NR) {
            long row = cIndex * Float.BYTES;
            long step = (long) ldc * Float.BYTES;
            store(c, row, c00, c01, add);
            store(c, row + step, c10, c11, add);
            store(c, row + 2 * step, c20, c21, add);
            store(c, row + 3 * step, c30, c31, add);
            store(c, row + 4 * step, c40, c41, add);
            store(c, row + 5 * step, c50, c51, add);
            return;
        }
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
        for (int r = 0; r < rows; r++) {
            long at = cIndex + (long) r * ldc;
            for (int q = 0; q < cols; q++) {
                float v = tile[r * NR + q];
                long off = (at + q) * Float.BYTES;
                c.set(F32, off, add ? c.get(F32, off) + v : v);
            }
        }
    }

    private static void store(MemorySegment c, long offset, FloatVector lo, FloatVector hi,
            boolean add) {
        long offsetHi = offset + (long) L * Float.BYTES;
        if (add) {
            lo = lo.add(FloatVector.fromMemorySegment(S, c, offset, LE));
            hi = hi.add(FloatVector.fromMemorySegment(S, c, offsetHi, LE));
        }
        lo.intoMemorySegment(c, offset, LE);
        hi.intoMemorySegment(c, offsetHi, LE);
    }
}
