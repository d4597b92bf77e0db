package dev.lumbar.bindings;

import static dev.lumbar.bindings.Symbols.C_INT;
import static dev.lumbar.bindings.Symbols.C_LONG_LONG;
import static dev.lumbar.bindings.Symbols.C_POINTER;
import static dev.lumbar.bindings.Symbols.callInt;
import static dev.lumbar.bindings.Symbols.device;
import static dev.lumbar.bindings.Symbols.fn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

/**
 * cuBLAS ({@code libcublas.so.13} or {@code .12}): handles, streams, math mode, SGEMM and the
 * strided-batched GEMM with F32, F16 or BF16 storage and F32 accumulation.
 *
 * <p>cuBLAS is column-major. A row-major {@code C[M,N] = A[M,K] · B[K,N]} is computed as the
 * column-major {@code Cᵀ = Bᵀ · Aᵀ}, i.e. with the operands swapped; callers do that, this
 * class passes arguments through unchanged. Scalars (alpha, beta) are host pointers.
 */
public final class Cublas {

    // LIMITATION: cuBLASLt is found (Library.CUBLAS_LT) and preloaded but not bound, so no
    // fused bias/GELU epilogues; the engine runs bias and activation as its own kernel.

    public static final int CUBLAS_STATUS_SUCCESS = 0;
    public static final int CUBLAS_OP_N = 0;
    public static final int CUBLAS_OP_T = 1;
    public static final int CUBLAS_DEFAULT_MATH = 0;
    public static final int CUBLAS_PEDANTIC_MATH = 2;
    public static final int CUBLAS_TF32_TENSOR_OP_MATH = 3;
    public static final int CUBLAS_COMPUTE_32F = 68;
    public static final int CUBLAS_COMPUTE_32F_PEDANTIC = 69;
    public static final int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    public static final int CUBLAS_GEMM_DEFAULT = -1;
    /** {@code cudaDataType} values (library_types.h). */
    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_16F = 2;
    public static final int CUDA_R_16BF = 14;
    /** {@code libraryPropertyType} values. */
    public static final int MAJOR_VERSION = 0;
    public static final int MINOR_VERSION = 1;
    public static final int PATCH_LEVEL = 2;

    static final NativeFunction CREATE = fn("cublasCreate_v2", C_INT, C_POINTER);
    static final NativeFunction DESTROY = fn("cublasDestroy_v2", C_INT, C_POINTER);
    static final NativeFunction SET_STREAM =
            fn("cublasSetStream_v2", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction SET_MATH_MODE = fn("cublasSetMathMode", C_INT, C_POINTER, C_INT);
    static final NativeFunction GET_PROPERTY = fn("cublasGetProperty", C_INT, C_INT, C_POINTER);
    static final NativeFunction GET_STATUS_NAME = fn("cublasGetStatusName", C_POINTER, C_INT);
    static final NativeFunction GET_STATUS_STRING = fn("cublasGetStatusString", C_POINTER, C_INT);
    static final NativeFunction SGEMM = fn("cublasSgemm_v2", C_INT,
            C_POINTER, C_INT, C_INT, C_INT, C_INT, C_INT,
            C_POINTER, C_POINTER, C_INT, C_POINTER, C_INT, C_POINTER, C_POINTER, C_INT);
    static final NativeFunction GEMM_STRIDED_BATCHED_EX = fn("cublasGemmStridedBatchedEx", C_INT,
            C_POINTER, C_INT, C_INT, C_INT, C_INT, C_INT,
            C_POINTER,
            C_POINTER, C_INT, C_INT, C_LONG_LONG,
            C_POINTER, C_INT, C_INT, C_LONG_LONG,
            C_POINTER,
            C_POINTER, C_INT, C_INT, C_LONG_LONG,
            C_INT, C_INT, C_INT);

    public static List<NativeFunction> functions() {
        return List.of(CREATE, DESTROY, SET_STREAM, SET_MATH_MODE, GET_PROPERTY,
                GET_STATUS_NAME, GET_STATUS_STRING, SGEMM, GEMM_STRIDED_BATCHED_EX);
    }

    private final String origin;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle setMathMode;
    private final MethodHandle getProperty;
    private final Optional<MethodHandle> getStatusName;
    private final Optional<MethodHandle> getStatusString;
    private final MethodHandle sgemm;
    private final MethodHandle gemmStridedBatchedEx;

    private Cublas(Symbols symbols, String origin) {
        this.origin = origin;
        create = symbols.bind(CREATE);
        destroy = symbols.bind(DESTROY);
        setStream = symbols.bind(SET_STREAM);
        setMathMode = symbols.bind(SET_MATH_MODE);
        getProperty = symbols.bind(GET_PROPERTY);
        getStatusName = symbols.find(GET_STATUS_NAME);
        getStatusString = symbols.find(GET_STATUS_STRING);
        sgemm = symbols.bind(SGEMM);
        gemmStridedBatchedEx = symbols.bind(GEMM_STRIDED_BATCHED_EX);
    }

    public static Loaded<Cublas> load(NativeLibraries libraries) {
        NativeLibraries.Opened opened = libraries.open(Library.CUBLAS);
        return Loaded.bind(opened, "libcublas", Cublas::new);
    }

    public String origin() {
        return origin;
    }

    public void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            String name = getStatusName.map(h -> Symbols.cString(
                    (MemorySegment) Symbols.call(h, status))).orElse("cublasStatus_t");
            String text = getStatusString.map(h -> Symbols.cString(
                    (MemorySegment) Symbols.call(h, status))).orElse("");
            throw new CudaException(call, status, name, text);
        }
    }

    /** The library version as major·10000 + minor·100 + patch; needs no GPU. */
    public int version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            int[] parts = new int[3];
            for (int property = MAJOR_VERSION; property <= PATCH_LEVEL; property++) {
                check(callInt(getProperty, property, out), "cublasGetProperty");
                parts[property] = out.get(C_INT, 0);
            }
            return parts[0] * 10000 + parts[1] * 100 + parts[2];
        }
    }

    /** A new cuBLAS handle for the current context. */
    public MemorySegment create() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(create, out), "cublasCreate_v2");
            return out.get(C_POINTER, 0);
        }
    }

    public void destroy(MemorySegment handle) {
        check(callInt(destroy, handle), "cublasDestroy_v2");
    }

    public void setStream(MemorySegment handle, MemorySegment stream) {
        check(callInt(setStream, handle, stream), "cublasSetStream_v2");
    }

    /** {@link #CUBLAS_DEFAULT_MATH}, {@link #CUBLAS_PEDANTIC_MATH} or TF32 tensor-op math. */
    public void setMathMode(MemorySegment handle, int mode) {
        check(callInt(setMathMode, handle, mode), "cublasSetMathMode");
    }

    /** Column-major {@code C = alpha·op(A)·op(B) + beta·C} on device F32 matrices. */
    public void sgemm(MemorySegment handle, int transA, int transB, int m, int n, int k,
            float alpha, long a, int lda, long b, int ldb, float beta, long c, int ldc) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alphaHost = arena.allocateFrom(ValueLayout.JAVA_FLOAT, alpha);
            MemorySegment betaHost = arena.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            check(callInt(sgemm, handle, transA, transB, m, n, k, alphaHost, device(a), lda,
                    device(b), ldb, betaHost, device(c), ldc), "cublasSgemm_v2");
        }
    }

    /**
     * Column-major strided-batched GEMM with storage type {@code inputType} for A and B and
     * {@code outputType} for C ({@link #CUDA_R_32F}, {@link #CUDA_R_16F}, {@link #CUDA_R_16BF};
     * 16-bit inputs may write F32 output), F32 scalars, and compute type {@code computeType}
     * ({@link #CUBLAS_COMPUTE_32F} and its variants).
     */
    public void gemmStridedBatched(MemorySegment handle, int transA, int transB, int m, int n,
            int k, float alpha, long a, int inputType, int lda, long strideA, long b, int ldb,
            long strideB, float beta, long c, int outputType, int ldc, long strideC,
            int batchCount, int computeType) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alphaHost = arena.allocateFrom(ValueLayout.JAVA_FLOAT, alpha);
            MemorySegment betaHost = arena.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            check(callInt(gemmStridedBatchedEx, handle, transA, transB, m, n, k, alphaHost,
                    device(a), inputType, lda, strideA, device(b), inputType, ldb, strideB,
                    betaHost, device(c), outputType, ldc, strideC, batchCount, computeType,
                    CUBLAS_GEMM_DEFAULT),
                    "cublasGemmStridedBatchedEx");
        }
    }
}
