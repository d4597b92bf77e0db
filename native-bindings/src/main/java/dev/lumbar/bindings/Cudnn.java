package dev.lumbar.bindings;

import static dev.lumbar.bindings.Symbols.C_FLOAT;
import static dev.lumbar.bindings.Symbols.C_INT;
import static dev.lumbar.bindings.Symbols.C_POINTER;
import static dev.lumbar.bindings.Symbols.C_SIZE_T;
import static dev.lumbar.bindings.Symbols.callInt;
import static dev.lumbar.bindings.Symbols.device;
import static dev.lumbar.bindings.Symbols.fn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * cuDNN 9 ({@code libcudnn.so.9}) through its descriptor ("legacy") API, which cuDNN 9 still
 * ships in its ops and cnn sub-libraries: tensor, filter and convolution descriptors,
 * algorithm choice, workspace size and the forward convolution (grouped and depthwise too).
 */
public final class Cudnn {

    public static final int CUDNN_STATUS_SUCCESS = 0;
    public static final int CUDNN_TENSOR_NCHW = 0;
    public static final int CUDNN_TENSOR_NHWC = 1;
    public static final int CUDNN_DATA_FLOAT = 0;
    public static final int CUDNN_DATA_HALF = 2;
    public static final int CUDNN_DATA_BFLOAT16 = 9;
    public static final int CUDNN_CROSS_CORRELATION = 1;
    public static final int CUDNN_DEFAULT_MATH = 0;
    public static final int CUDNN_TENSOR_OP_MATH = 1;
    public static final int CUDNN_FMA_MATH = 3;
    public static final int CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0;
    public static final int CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1;
    public static final int CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8;
    public static final int CUDNN_NON_DETERMINISTIC = 0;
    public static final int CUDNN_DETERMINISTIC = 1;

    /** {@code cudnnConvolutionFwdAlgoPerf_t}. */
    public static final StructLayout FWD_ALGO_PERF = MemoryLayout.structLayout(
            C_INT.withName("algo"),
            C_INT.withName("status"),
            C_FLOAT.withName("time"),
            MemoryLayout.paddingLayout(4),
            C_SIZE_T.withName("memory"),
            C_INT.withName("determinism"),
            C_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, C_INT).withName("reserved"),
            // The size_t member makes the struct 8-byte aligned: 44 bytes round up to 48.
            MemoryLayout.paddingLayout(4));

    static final NativeFunction GET_VERSION = fn("cudnnGetVersion", C_SIZE_T);
    static final NativeFunction GET_ERROR_STRING = fn("cudnnGetErrorString", C_POINTER, C_INT);
    static final NativeFunction CREATE = fn("cudnnCreate", C_INT, C_POINTER);
    static final NativeFunction DESTROY = fn("cudnnDestroy", C_INT, C_POINTER);
    static final NativeFunction SET_STREAM = fn("cudnnSetStream", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction CREATE_TENSOR_DESCRIPTOR =
            fn("cudnnCreateTensorDescriptor", C_INT, C_POINTER);
    static final NativeFunction SET_TENSOR_4D_DESCRIPTOR = fn("cudnnSetTensor4dDescriptor",
            C_INT, C_POINTER, C_INT, C_INT, C_INT, C_INT, C_INT, C_INT);
    static final NativeFunction DESTROY_TENSOR_DESCRIPTOR =
            fn("cudnnDestroyTensorDescriptor", C_INT, C_POINTER);
    static final NativeFunction CREATE_FILTER_DESCRIPTOR =
            fn("cudnnCreateFilterDescriptor", C_INT, C_POINTER);
    static final NativeFunction SET_FILTER_4D_DESCRIPTOR = fn("cudnnSetFilter4dDescriptor",
            C_INT, C_POINTER, C_INT, C_INT, C_INT, C_INT, C_INT, C_INT);
    static final NativeFunction DESTROY_FILTER_DESCRIPTOR =
            fn("cudnnDestroyFilterDescriptor", C_INT, C_POINTER);
    static final NativeFunction CREATE_CONVOLUTION_DESCRIPTOR =
            fn("cudnnCreateConvolutionDescriptor", C_INT, C_POINTER);
    static final NativeFunction SET_CONVOLUTION_2D_DESCRIPTOR =
            fn("cudnnSetConvolution2dDescriptor", C_INT, C_POINTER, C_INT, C_INT, C_INT, C_INT,
                    C_INT, C_INT, C_INT, C_INT);
    static final NativeFunction SET_CONVOLUTION_GROUP_COUNT =
            fn("cudnnSetConvolutionGroupCount", C_INT, C_POINTER, C_INT);
    static final NativeFunction SET_CONVOLUTION_MATH_TYPE =
            fn("cudnnSetConvolutionMathType", C_INT, C_POINTER, C_INT);
    static final NativeFunction DESTROY_CONVOLUTION_DESCRIPTOR =
            fn("cudnnDestroyConvolutionDescriptor", C_INT, C_POINTER);
    static final NativeFunction GET_CONVOLUTION_2D_FORWARD_OUTPUT_DIM =
            fn("cudnnGetConvolution2dForwardOutputDim", C_INT, C_POINTER, C_POINTER, C_POINTER,
                    C_POINTER, C_POINTER, C_POINTER, C_POINTER);
    static final NativeFunction GET_CONVOLUTION_FORWARD_ALGORITHM_V7 =
            fn("cudnnGetConvolutionForwardAlgorithm_v7", C_INT, C_POINTER, C_POINTER,
                    C_POINTER, C_POINTER, C_POINTER, C_INT, C_POINTER, C_POINTER);
    static final NativeFunction FIND_CONVOLUTION_FORWARD_ALGORITHM =
            fn("cudnnFindConvolutionForwardAlgorithm", C_INT, C_POINTER, C_POINTER,
                    C_POINTER, C_POINTER, C_POINTER, C_INT, C_POINTER, C_POINTER);
    static final NativeFunction GET_CONVOLUTION_FORWARD_WORKSPACE_SIZE =
            fn("cudnnGetConvolutionForwardWorkspaceSize", C_INT, C_POINTER, C_POINTER,
                    C_POINTER, C_POINTER, C_POINTER, C_INT, C_POINTER);
    static final NativeFunction CONVOLUTION_FORWARD = fn("cudnnConvolutionForward", C_INT,
            C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER,
            C_INT, C_POINTER, C_SIZE_T, C_POINTER, C_POINTER, C_POINTER);
    static final NativeFunction ADD_TENSOR = fn("cudnnAddTensor", C_INT, C_POINTER,
            C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);

    public static List<NativeFunction> functions() {
        return List.of(GET_VERSION, GET_ERROR_STRING, CREATE, DESTROY, SET_STREAM,
                CREATE_TENSOR_DESCRIPTOR, SET_TENSOR_4D_DESCRIPTOR, DESTROY_TENSOR_DESCRIPTOR,
                CREATE_FILTER_DESCRIPTOR, SET_FILTER_4D_DESCRIPTOR, DESTROY_FILTER_DESCRIPTOR,
                CREATE_CONVOLUTION_DESCRIPTOR, SET_CONVOLUTION_2D_DESCRIPTOR,
                SET_CONVOLUTION_GROUP_COUNT, SET_CONVOLUTION_MATH_TYPE,
                DESTROY_CONVOLUTION_DESCRIPTOR, GET_CONVOLUTION_2D_FORWARD_OUTPUT_DIM,
                GET_CONVOLUTION_FORWARD_ALGORITHM_V7, FIND_CONVOLUTION_FORWARD_ALGORITHM,
                GET_CONVOLUTION_FORWARD_WORKSPACE_SIZE, CONVOLUTION_FORWARD, ADD_TENSOR);
    }

    /** One candidate algorithm as cuDNN ranks it. */
    public record AlgorithmChoice(int algorithm, int status, float millis, long workspaceBytes,
            int determinism, int mathType) {

        public boolean deterministic() {
            return determinism == CUDNN_DETERMINISTIC;
        }
    }

    private final String origin;
    private final MethodHandle getVersion;
    private final MethodHandle getErrorString;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle createTensorDescriptor;
    private final MethodHandle setTensor4dDescriptor;
    private final MethodHandle destroyTensorDescriptor;
    private final MethodHandle createFilterDescriptor;
    private final MethodHandle setFilter4dDescriptor;
    private final MethodHandle destroyFilterDescriptor;
    private final MethodHandle createConvolutionDescriptor;
    private final MethodHandle setConvolution2dDescriptor;
    private final MethodHandle setConvolutionGroupCount;
    private final MethodHandle setConvolutionMathType;
    private final MethodHandle destroyConvolutionDescriptor;
    private final MethodHandle getOutputDim;
    private final MethodHandle getForwardAlgorithmV7;
    private final MethodHandle findForwardAlgorithm;
    private final MethodHandle getForwardWorkspaceSize;
    private final MethodHandle convolutionForward;
    private final MethodHandle addTensor;

    private Cudnn(Symbols symbols, String origin) {
        this.origin = origin;
        getVersion = symbols.bind(GET_VERSION);
        getErrorString = symbols.bind(GET_ERROR_STRING);
        create = symbols.bind(CREATE);
        destroy = symbols.bind(DESTROY);
        setStream = symbols.bind(SET_STREAM);
        createTensorDescriptor = symbols.bind(CREATE_TENSOR_DESCRIPTOR);
        setTensor4dDescriptor = symbols.bind(SET_TENSOR_4D_DESCRIPTOR);
        destroyTensorDescriptor = symbols.bind(DESTROY_TENSOR_DESCRIPTOR);
        createFilterDescriptor = symbols.bind(CREATE_FILTER_DESCRIPTOR);
        setFilter4dDescriptor = symbols.bind(SET_FILTER_4D_DESCRIPTOR);
        destroyFilterDescriptor = symbols.bind(DESTROY_FILTER_DESCRIPTOR);
        createConvolutionDescriptor = symbols.bind(CREATE_CONVOLUTION_DESCRIPTOR);
        setConvolution2dDescriptor = symbols.bind(SET_CONVOLUTION_2D_DESCRIPTOR);
        setConvolutionGroupCount = symbols.bind(SET_CONVOLUTION_GROUP_COUNT);
        setConvolutionMathType = symbols.bind(SET_CONVOLUTION_MATH_TYPE);
        destroyConvolutionDescriptor = symbols.bind(DESTROY_CONVOLUTION_DESCRIPTOR);
        getOutputDim = symbols.bind(GET_CONVOLUTION_2D_FORWARD_OUTPUT_DIM);
        getForwardAlgorithmV7 = symbols.bind(GET_CONVOLUTION_FORWARD_ALGORITHM_V7);
        findForwardAlgorithm = symbols.bind(FIND_CONVOLUTION_FORWARD_ALGORITHM);
        getForwardWorkspaceSize = symbols.bind(GET_CONVOLUTION_FORWARD_WORKSPACE_SIZE);
        convolutionForward = symbols.bind(CONVOLUTION_FORWARD);
        addTensor = symbols.bind(ADD_TENSOR);
    }

    public static Loaded<Cudnn> load(NativeLibraries libraries) {
        NativeLibraries.Opened opened = libraries.open(Library.CUDNN);
        return Loaded.bind(opened, "libcudnn", Cudnn::new);
    }

    public String origin() {
        return origin;
    }

    public void check(int status, String call) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw new CudaException(call, status, "cudnnStatus_t", errorString(status));
        }
    }

    public String errorString(int status) {
        return Symbols.cString((MemorySegment) Symbols.call(getErrorString, status));
    }

    /** The library version, e.g. 90100 for 9.1.0; needs no GPU. */
    public long version() {
        return (long) Symbols.call(getVersion);
    }

    public MemorySegment create() {
        return outPointer(create, "cudnnCreate");
    }

    public void destroy(MemorySegment handle) {
        check(callInt(destroy, handle), "cudnnDestroy");
    }

    public void setStream(MemorySegment handle, MemorySegment stream) {
        check(callInt(setStream, handle, stream), "cudnnSetStream");
    }

    /** A packed NCHW tensor descriptor of {@code dataType}. */
    public MemorySegment tensorDescriptor(int dataType, int n, int c, int h, int w) {
        MemorySegment desc = outPointer(createTensorDescriptor, "cudnnCreateTensorDescriptor");
        try {
            check(callInt(setTensor4dDescriptor, desc, CUDNN_TENSOR_NCHW, dataType, n, c, h, w),
                    "cudnnSetTensor4dDescriptor([" + n + ", " + c + ", " + h + ", " + w + "])");
        } catch (CudaException e) {
            destroyTensorDescriptor(desc);
            throw e;
        }
        return desc;
    }

    public void destroyTensorDescriptor(MemorySegment desc) {
        check(callInt(destroyTensorDescriptor, desc), "cudnnDestroyTensorDescriptor");
    }

    /** A KCRS ({@code [out, in/groups, kh, kw]}) filter descriptor. */
    public MemorySegment filterDescriptor(int dataType, int k, int c, int h, int w) {
        MemorySegment desc = outPointer(createFilterDescriptor, "cudnnCreateFilterDescriptor");
        try {
            // Note the argument order: data type before format, unlike the tensor descriptor.
            check(callInt(setFilter4dDescriptor, desc, dataType, CUDNN_TENSOR_NCHW, k, c, h, w),
                    "cudnnSetFilter4dDescriptor([" + k + ", " + c + ", " + h + ", " + w + "])");
        } catch (CudaException e) {
            destroyFilterDescriptor(desc);
            throw e;
        }
        return desc;
    }

    public void destroyFilterDescriptor(MemorySegment desc) {
        check(callInt(destroyFilterDescriptor, desc), "cudnnDestroyFilterDescriptor");
    }

    /** A cross-correlation (PyTorch's convolution) descriptor with symmetric padding. */
    public MemorySegment convolutionDescriptor(int padH, int padW, int strideH, int strideW,
            int dilationH, int dilationW, int groups, int computeType, int mathType) {
        MemorySegment desc = outPointer(createConvolutionDescriptor,
                "cudnnCreateConvolutionDescriptor");
        try {
            check(callInt(setConvolution2dDescriptor, desc, padH, padW, strideH, strideW,
                    dilationH, dilationW, CUDNN_CROSS_CORRELATION, computeType),
                    "cudnnSetConvolution2dDescriptor");
            check(callInt(setConvolutionGroupCount, desc, groups),
                    "cudnnSetConvolutionGroupCount");
            check(callInt(setConvolutionMathType, desc, mathType),
                    "cudnnSetConvolutionMathType");
        } catch (CudaException e) {
            destroyConvolutionDescriptor(desc);
            throw e;
        }
        return desc;
    }

    public void destroyConvolutionDescriptor(MemorySegment desc) {
        check(callInt(destroyConvolutionDescriptor, desc), "cudnnDestroyConvolutionDescriptor");
    }

    /** The output shape cuDNN computes, {@code [n, c, h, w]}. */
    public int[] forwardOutputDim(MemorySegment conv, MemorySegment x, MemorySegment w) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dims = arena.allocate(C_INT, 4);
            check(callInt(getOutputDim, conv, x, w, dims.asSlice(0, 4), dims.asSlice(4, 4),
                    dims.asSlice(8, 4), dims.asSlice(12, 4)),
                    "cudnnGetConvolution2dForwardOutputDim");
            return dims.toArray(C_INT);
        }
    }

    /** cuDNN's heuristic ranking of forward algorithms, best first (no benchmarking). */
    public List<AlgorithmChoice> forwardAlgorithms(MemorySegment handle, MemorySegment x,
            MemorySegment w, MemorySegment conv, MemorySegment y) {
        return algorithms(getForwardAlgorithmV7, "cudnnGetConvolutionForwardAlgorithm_v7",
                handle, x, w, conv, y);
    }

    /** Forward algorithms ranked by timing real runs; allocates and frees device memory. */
    public List<AlgorithmChoice> findForwardAlgorithms(MemorySegment handle, MemorySegment x,
            MemorySegment w, MemorySegment conv, MemorySegment y) {
        return algorithms(findForwardAlgorithm, "cudnnFindConvolutionForwardAlgorithm",
                handle, x, w, conv, y);
    }

    private List<AlgorithmChoice> algorithms(MethodHandle function, String call,
            MemorySegment handle, MemorySegment x, MemorySegment w, MemorySegment conv,
            MemorySegment y) {
        try (Arena arena = Arena.ofConfined()) {
            int requested = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
            MemorySegment returned = arena.allocate(C_INT);
            MemorySegment perf = arena.allocate(FWD_ALGO_PERF, requested);
            check(callInt(function, handle, x, w, conv, y, requested, returned, perf), call);
            List<AlgorithmChoice> out = new ArrayList<>();
            long stride = FWD_ALGO_PERF.byteSize();
            for (int i = 0; i < returned.get(C_INT, 0); i++) {
                MemorySegment p = perf.asSlice(i * stride, stride);
                out.add(new AlgorithmChoice(p.get(C_INT, 0), p.get(C_INT, 4),
                        p.get(C_FLOAT, 8), p.get(C_SIZE_T, 16), p.get(C_INT, 24),
                        p.get(C_INT, 28)));
            }
            return out;
        }
    }

    public long forwardWorkspaceBytes(MemorySegment handle, MemorySegment x, MemorySegment w,
            MemorySegment conv, MemorySegment y, int algorithm) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_SIZE_T);
            check(callInt(getForwardWorkspaceSize, handle, x, w, conv, y, algorithm, out),
                    "cudnnGetConvolutionForwardWorkspaceSize");
            return out.get(C_SIZE_T, 0);
        }
    }

    /** {@code y = conv(x, w)} (alpha 1, beta 0) on device memory. */
    public void convolutionForward(MemorySegment handle, MemorySegment xDesc, long x,
            MemorySegment wDesc, long w, MemorySegment conv, int algorithm, long workspace,
            long workspaceBytes, MemorySegment yDesc, long y) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
            MemorySegment zero = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
            check(callInt(convolutionForward, handle, one, xDesc, device(x), wDesc, device(w),
                    conv, algorithm, device(workspace), workspaceBytes, zero, yDesc, device(y)),
                    "cudnnConvolutionForward");
        }
    }

    /** {@code c = a + c}, broadcasting {@code a} (e.g. a {@code [1, C, 1, 1]} bias). */
    public void addTensor(MemorySegment handle, MemorySegment aDesc, long a,
            MemorySegment cDesc, long c) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
            check(callInt(addTensor, handle, one, aDesc, device(a), one, cDesc, device(c)),
                    "cudnnAddTensor");
        }
    }

    private MemorySegment outPointer(MethodHandle handle, String call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(handle, out), call);
            return out.get(C_POINTER, 0);
        }
    }
}
