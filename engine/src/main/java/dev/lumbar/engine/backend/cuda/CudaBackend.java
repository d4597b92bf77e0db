package dev.lumbar.engine.backend.cuda;

import dev.lumbar.bindings.CudaDriver;
import dev.lumbar.bindings.CudaException;
import dev.lumbar.bindings.Cublas;
import dev.lumbar.bindings.Cudnn;
import dev.lumbar.bindings.KernelArguments;
import dev.lumbar.bindings.Loaded;
import dev.lumbar.bindings.NativeLibraries;
import dev.lumbar.engine.backend.Activation;
import dev.lumbar.engine.backend.Backend;
import dev.lumbar.engine.backend.Conv2dSpec;
import dev.lumbar.engine.tensor.DType;
import dev.lumbar.engine.tensor.Device;
import dev.lumbar.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The {@link Backend} on an NVIDIA GPU: convolutions through cuDNN, matrix products through
 * cuBLAS, everything else through the engine's own kernels ({@link Kernel}).
 *
 * <p>All work is queued on one non-blocking stream of the device's primary context, so
 * operations run in the order they are called and only {@link #download} (and
 * {@link #synchronize}) wait for the device. Tensors it returns live on the device; closing
 * one returns its memory to the backend's cache ({@link DeviceMemory}).
 *
 * <p>Thread safety: operations are synchronized on the backend, because they share one
 * stream, one cuBLAS and one cuDNN handle and the plan cache; tensors may be closed from any
 * thread.
 */
public final class CudaBackend implements Backend {

    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());

    private static final int BLOCK = 256;
    /** The most cuDNN workspace one convolution may use. */
    private static final long MAX_WORKSPACE_BYTES = 512L << 20;

    private final CudaOptions options;
    private final CudaDriver driver;
    private final Cublas cublas;
    private final Cudnn cudnn;
    private final int cuDevice;
    private final Device device;
    private final String deviceName;
    private final int multiprocessors;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final MemorySegment cublasHandle;
    private final MemorySegment cudnnHandle;
    private final CudaKernels kernels;
    private final DeviceMemory memory;
    private final Map<ConvKey, ConvPlan> convPlans = new HashMap<>();
    /** Device addresses of tensors made by {@link #upload}: weights. */
    private final Set<Long> weights = ConcurrentHashMap.newKeySet();
    /** The 16-bit copy of each weight that has one, by the weight's address. */
    private final Map<Long, Long> lowPrecisionWeights = new ConcurrentHashMap<>();
    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private boolean closed;

    /** Whether a usable GPU is present, and if not, why; loads nothing else. */
    public record Probe(boolean usable, String summary) {}

    /** The size in bytes of the kernel fatbin on the class path; empty when not built. */
    public static java.util.OptionalInt kernelsFatbinBytes() {
        return CudaKernels.fatbin().map(b -> java.util.OptionalInt.of(b.length))
                .orElse(java.util.OptionalInt.empty());
    }

    /** Checks for a driver and a device without creating a context. */
    public static Probe probe(NativeLibraries libraries) {
        Loaded<CudaDriver> loaded = CudaDriver.load(libraries);
        if (!loaded.ok()) {
            return new Probe(false, "no CUDA driver: " + loaded.reason());
        }
        CudaDriver driver = loaded.binding().orElseThrow();
        try {
            driver.init();
            int count = driver.deviceCount();
            if (count == 0) {
                return new Probe(false, "the CUDA driver sees no GPU");
            }
            int dev = driver.device(0);
            return new Probe(true, count + " GPU(s); cuda:0 is " + driver.deviceName(dev)
                    + ", compute capability " + capability(driver.computeCapability(dev)));
        } catch (CudaException e) {
            return new Probe(false, "the CUDA driver cannot be used: " + e.getMessage());
        }
    }

    /**
     * Opens the GPU {@code options.deviceOrdinal()}; throws {@link IllegalStateException}
     * saying why when there is no usable GPU, cuDNN, cuBLAS or kernel fatbin.
     */
    public static CudaBackend open(CudaOptions options) {
        return open(options, NativeLibraries.system());
    }

    public static CudaBackend open(CudaOptions options, NativeLibraries libraries) {
        if (CudaKernels.fatbin().isEmpty()) {
            throw new IllegalStateException("CUDA backend unavailable: kernels not built (the "
                    + "build had no nvcc; install the CUDA toolkit and rebuild)");
        }
        CudaDriver driver = CudaDriver.load(libraries).binding().orElseThrow(
                () -> new IllegalStateException("CUDA backend unavailable: "
                        + CudaDriver.load(libraries).reason()));
        Loaded<Cublas> cublas = Cublas.load(libraries);
        if (!cublas.ok()) {
            throw new IllegalStateException("CUDA backend unavailable: " + cublas.reason());
        }
        Loaded<Cudnn> cudnn = Cudnn.load(libraries);
        if (!cudnn.ok()) {
            throw new IllegalStateException("CUDA backend unavailable: " + cudnn.reason());
        }
        try {
            driver.init();
        } catch (CudaException e) {
            throw new IllegalStateException("CUDA backend unavailable: " + e.getMessage(), e);
        }
        return new CudaBackend(options, driver, cublas.binding().orElseThrow(),
                cudnn.binding().orElseThrow());
    }

    private CudaBackend(CudaOptions options, CudaDriver driver, Cublas cublas, Cudnn cudnn) {
        this.options = options;
        this.driver = driver;
        this.cublas = cublas;
        this.cudnn = cudnn;
        int count = driver.deviceCount();
        if (options.deviceOrdinal() >= count) {
            throw new IllegalStateException("no GPU cuda:" + options.deviceOrdinal() + " (the "
                    + "driver sees " + count + ")");
        }
        this.cuDevice = driver.device(options.deviceOrdinal());
        this.device = Device.cuda(options.deviceOrdinal());
        this.deviceName = driver.deviceName(cuDevice);
        this.multiprocessors = driver.deviceAttribute(
                CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, cuDevice);
        this.context = driver.primaryContextRetain(cuDevice);
        cleanup.add(() -> driver.primaryContextRelease(cuDevice));
        try {
            driver.setCurrentContext(context);
            this.stream = driver.streamCreate(CudaDriver.CU_STREAM_NON_BLOCKING);
            cleanup.add(() -> driver.streamDestroy(stream));

            this.cublasHandle = cublas.create();
            cleanup.add(() -> cublas.destroy(cublasHandle));
            cublas.setStream(cublasHandle, stream);
            cublas.setMathMode(cublasHandle, options.precision() == CudaOptions.Precision.TF32
                    ? Cublas.CUBLAS_TF32_TENSOR_OP_MATH : Cublas.CUBLAS_DEFAULT_MATH);

            this.cudnnHandle = cudnn.create();
            cleanup.add(() -> cudnn.destroy(cudnnHandle));
            cudnn.setStream(cudnnHandle, stream);

            this.kernels = CudaKernels.load(driver);
            cleanup.add(kernels);

            long limit = options.memoryLimitBytes();
            if (limit == 0) {
                limit = driver.memoryInfo()[0] / 10 * 9;
            }
            this.memory = new DeviceMemory(new DeviceMemory.Allocator() {
                @Override
                public long allocate(long bytes) {
                    return driver.malloc(bytes);
                }

                @Override
                public void free(long address) {
                    driver.free(address);
                }
            }, limit);
            cleanup.add(memory);
            // A closed weight takes its 16-bit copy with it.
            memory.onRelease(address -> {
                weights.remove(address);
                Long copy = lowPrecisionWeights.remove(address);
                if (copy != null) {
                    memory.release(copy);
                }
            });
        } catch (RuntimeException e) {
            releaseAll();
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "cuda:{0} {1}, {2} SMs, precision {3}, memory limit "
                + "{4} MiB", options.deviceOrdinal(), deviceName, multiprocessors,
                options.precision(), memory.limitBytes() >> 20);
    }

    @Override
    public String name() {
        return "cuda (" + deviceName + ", " + options.precision()
                + (options.deterministic() ? ", deterministic" : "") + ")";
    }

    @Override
    public Device device() {
        return device;
    }

    public CudaOptions options() {
        return options;
    }

    /** Bytes of device memory held by live tensors, and the most ever held. */
    public long[] memoryUse() {
        return new long[] {memory.liveBytes(), memory.peakBytes()};
    }

    // ---- tensors ------------------------------------------------------------------------

    /** A new uninitialised F32 tensor on this device. */
    public synchronized Tensor allocate(long... shape) {
        return allocate(DType.F32, shape);
    }

    private Tensor allocate(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.byteSize());
        long address = memory.allocate(bytes);
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(bytes);
        return Tensor.adopt(segment, memory.ownerOf(address), dtype, device, shape);
    }

    /**
     * A new output that {@code fill} writes. Every operation makes its outputs here, so one
     * that fails after allocating (an input on another device or of another type, a launch
     * the driver refuses) gives the memory back instead of keeping it until the backend
     * closes.
     */
    private Tensor output(DType dtype, long[] shape, Consumer<Tensor> fill) {
        Tensor y = allocate(dtype, shape);
        try {
            fill.accept(y);
            return y;
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }

    private Tensor output(long[] shape, Consumer<Tensor> fill) {
        return output(DType.F32, shape, fill);
    }

    private long address(Tensor t) {
        if (!t.device().equals(device)) {
            throw new IllegalArgumentException("tensor " + t + " is not on " + device);
        }
        return t.segment().address();
    }

    private long f32(Tensor t) {
        t.requireDType(DType.F32);
        return address(t);
    }

    private static long nullableAddress(Tensor t, CudaBackend backend) {
        return t == null ? 0L : backend.f32(t);
    }

    @Override
    public synchronized Tensor upload(Tensor host) {
        host.requireHost();
        enter();
        Tensor f32 = host.dtype() == DType.F32 ? host : host.toF32();
        try {
            Tensor out = output(host.shape(), y -> {
                driver.copyHostToDeviceAsync(address(y), f32.segment(), f32.byteSize(), stream);
                // The host tensor may be freed as soon as we return: wait for the copy.
                driver.streamSynchronize(stream);
            });
            weights.add(address(out));
            return out;
        } finally {
            if (f32 != host) {
                f32.close();
            }
        }
    }

    @Override
    public synchronized Tensor download(Tensor tensor) {
        enter();
        long from = f32(tensor);
        Tensor host = Tensor.allocate(DType.F32, tensor.shape());
        try {
            driver.copyDeviceToHostAsync(host.segment(), from, tensor.byteSize(), stream);
            driver.streamSynchronize(stream);
            return host;
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /**
     * A copy of a device tensor on the same device (one device-to-device copy on the stream):
     * the memory ceiling the GPU check rates the memory-bound kernels against.
     */
    public synchronized Tensor copy(Tensor x) {
        enter();
        return output(x.dtype(), x.shape(), y -> driver.copyDeviceToDeviceAsync(address(y),
                address(x), x.byteSize(), stream));
    }

    /** Waits for all queued work. */
    public synchronized void synchronize() {
        enter();
        driver.streamSynchronize(stream);
    }

    /** Milliseconds of device time {@code work} takes, measured with events on the stream. */
    public synchronized float timeMillis(Runnable work) {
        enter();
        MemorySegment start = driver.eventCreate(CudaDriver.CU_EVENT_DEFAULT);
        MemorySegment end = driver.eventCreate(CudaDriver.CU_EVENT_DEFAULT);
        try {
            driver.eventRecord(start, stream);
            work.run();
            driver.eventRecord(end, stream);
            driver.eventSynchronize(end);
            return driver.eventElapsedMillis(start, end);
        } finally {
            driver.eventDestroy(start);
            driver.eventDestroy(end);
        }
    }

    // ---- convolution --------------------------------------------------------------------

    private record ConvKey(int n, int c, int h, int w, int o, int kh, int kw, int padH,
            int padW, int strideH, int strideW, int dilationH, int dilationW, int groups,
            int dataType) {}

    private record ConvPlan(MemorySegment x, MemorySegment w, MemorySegment conv,
            MemorySegment y, int algorithm, long workspaceBytes, int outH, int outW) {}

    @Override
    public synchronized Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec,
            Activation act) {
        enter();
        requireRank(x, 4, "conv2d input");
        requireRank(weight, 4, "conv2d weight");
        int n = x.size(0);
        int c = x.size(1);
        int o = weight.size(0);
        int kh = weight.size(2);
        int kw = weight.size(3);
        if (weight.size(1) * spec.groups() != c) {
            throw new IllegalArgumentException("conv2d weight " + Arrays.toString(weight.shape())
                    + " with " + spec.groups() + " groups does not fit input "
                    + Arrays.toString(x.shape()));
        }

        // asymmetric ('same') padding is applied explicitly; cuDNN pads symmetrically only
        Tensor input = x;
        int padH = spec.padTop();
        int padW = spec.padLeft();
        boolean asymmetric = spec.padTop() != spec.padBottom()
                || spec.padLeft() != spec.padRight();
        if (asymmetric) {
            input = pad(x, spec.padTop(), spec.padBottom(), spec.padLeft(), spec.padRight());
            padH = 0;
            padW = 0;
        }
        try {
            int dataType = switch (options.precision()) {
                case F16 -> Cudnn.CUDNN_DATA_HALF;
                case BF16 -> Cudnn.CUDNN_DATA_BFLOAT16;
                default -> Cudnn.CUDNN_DATA_FLOAT;
            };
            ConvKey key = new ConvKey(n, c, input.size(2), input.size(3), o, kh, kw, padH, padW,
                    spec.strideH(), spec.strideW(), spec.dilationH(), spec.dilationW(),
                    spec.groups(), dataType);
            ConvPlan plan = convPlans.computeIfAbsent(key, this::planConvolution);
            Tensor padded = input;
            return output(new long[] {n, o, plan.outH(), plan.outW()}, y -> {
                long workspace = plan.workspaceBytes() > 0
                        ? memory.allocate(plan.workspaceBytes()) : 0L;
                try {
                    if (dataType == Cudnn.CUDNN_DATA_FLOAT) {
                        cudnn.convolutionForward(cudnnHandle, plan.x(), f32(padded), plan.w(),
                                f32(weight), plan.conv(), plan.algorithm(), workspace,
                                plan.workspaceBytes(), plan.y(), address(y));
                    } else {
                        convolveLowPrecision(plan, padded, weight, y, workspace);
                    }
                } finally {
                    if (workspace != 0) {
                        memory.release(workspace);
                    }
                }

                // bias and activation in place
                // LIMITATION: a separate kernel after cuDNN, not cuDNN's fused
                // bias-activation forward (which offers only ReLU); one extra pass over y.
                if (bias != null || act != Activation.IDENTITY) {
                    biasAct(y, y, bias, o, (long) plan.outH() * plan.outW(), act);
                }
            });
        } finally {
            if (input != x) {
                input.close();
            }
        }
    }

    // LIMITATION: in F16 and BF16 modes activations stay F32 between operations and are
    // converted around every convolution and GEMM; faster than F32 only where the arithmetic
    // dominates the conversions.
    private void convolveLowPrecision(ConvPlan plan, Tensor input, Tensor weight, Tensor y,
            long workspace) {
        long xHalf = toLowPrecision(f32(input), input.numel());
        try {
            long yHalf = memory.allocate(y.numel() * 2);
            try {
                long wHalf = lowPrecisionWeight(weight);
                try {
                    cudnn.convolutionForward(cudnnHandle, plan.x(), xHalf, plan.w(), wHalf,
                            plan.conv(), plan.algorithm(), workspace, plan.workspaceBytes(),
                            plan.y(), yHalf);
                } finally {
                    if (!isWeight(weight)) {
                        memory.release(wHalf);
                    }
                }
                fromLowPrecision(yHalf, address(y), y.numel());
            } finally {
                memory.release(yHalf);
            }
        } finally {
            memory.release(xHalf);
        }
    }

    private ConvPlan planConvolution(ConvKey key) {
        int mathType = switch (options.precision()) {
            // FMA math keeps cuDNN off TF32 tensor cores, so F32 matches the CPU to 1e-4.
            case F32 -> Cudnn.CUDNN_FMA_MATH;
            default -> Cudnn.CUDNN_TENSOR_OP_MATH;
        };
        MemorySegment xDesc = cudnn.tensorDescriptor(key.dataType(), key.n(), key.c(), key.h(),
                key.w());
        MemorySegment wDesc = cudnn.filterDescriptor(key.dataType(), key.o(),
                key.c() / key.groups(), key.kh(), key.kw());
        MemorySegment convDesc = cudnn.convolutionDescriptor(key.padH(), key.padW(),
                key.strideH(), key.strideW(), key.dilationH(), key.dilationW(), key.groups(),
                Cudnn.CUDNN_DATA_FLOAT, mathType);
        int[] out = cudnn.forwardOutputDim(convDesc, xDesc, wDesc);
        MemorySegment yDesc = cudnn.tensorDescriptor(key.dataType(), out[0], out[1], out[2],
                out[3]);
        cleanup.add(() -> cudnn.destroyTensorDescriptor(xDesc));
        cleanup.add(() -> cudnn.destroyFilterDescriptor(wDesc));
        cleanup.add(() -> cudnn.destroyConvolutionDescriptor(convDesc));
        cleanup.add(() -> cudnn.destroyTensorDescriptor(yDesc));

        // the heuristics' best algorithm that fits, deterministic when asked
        // LIMITATION: chosen by cuDNN's heuristics, never by timing (cudnnFind is bound but
        // unused: it allocates outside the memory limit); may miss the fastest algorithm.
        int algorithm = Cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        for (Cudnn.AlgorithmChoice choice : cudnn.forwardAlgorithms(cudnnHandle, xDesc, wDesc,
                convDesc, yDesc)) {
            if (choice.status() == Cudnn.CUDNN_STATUS_SUCCESS
                    && choice.workspaceBytes() <= MAX_WORKSPACE_BYTES
                    && (!options.deterministic() || choice.deterministic())) {
                algorithm = choice.algorithm();
                break;
            }
        }
        long workspace = cudnn.forwardWorkspaceBytes(cudnnHandle, xDesc, wDesc, convDesc, yDesc,
                algorithm);
        LOG.log(System.Logger.Level.DEBUG, "conv plan {0}: algorithm {1}, workspace {2} B",
                key, algorithm, workspace);
        return new ConvPlan(xDesc, wDesc, convDesc, yDesc, algorithm, workspace, out[2], out[3]);
    }

    private Tensor pad(Tensor x, int top, int bottom, int left, int right) {
        int h = x.size(2);
        int w = x.size(3);
        int outH = h + top + bottom;
        int outW = w + left + right;
        long planes = x.dim(0) * x.dim(1);
        return output(new long[] {x.dim(0), x.dim(1), outH, outW}, y -> launch(Kernel.PAD_2D,
                y.numel(), new KernelArguments().pointer(address(y)).pointer(f32(x))
                        .i64(planes).i32(h).i32(w).i32(top).i32(left).i32(outH).i32(outW)));
    }

    // ---- matrix products ----------------------------------------------------------------

    @Override
    public synchronized Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation act) {
        enter();
        requireRank(weight, 2, "linear weight");
        int in = weight.size(1);
        int out = weight.size(0);
        if (x.dim(-1) != in) {
            throw new IllegalArgumentException("linear weight " + Arrays.toString(weight.shape())
                    + " does not fit input " + Arrays.toString(x.shape()));
        }
        long rows = x.numel() / in;
        long[] shape = x.shape();
        shape[shape.length - 1] = out;
        return output(shape, y -> {
            // row-major y[rows, out] = x[rows, in] · Wᵀ is column-major yᵀ = W · xᵀ
            // LIMITATION: bias and activation run as a second kernel after the GEMM, not as a
            // cuBLASLt epilogue; one extra pass over y.
            gemm(Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, out, Math.toIntExact(rows), in,
                    weight, in, 0, x, in, 0, y, out, 0, 1);

            if (bias != null || act != Activation.IDENTITY) {
                biasAct(y, y, bias, out, 1, act);
            }
        });
    }

    @Override
    public synchronized Tensor matmul(Tensor a, Tensor b) {
        enter();
        requireRank(a, 3, "matmul left operand");
        requireRank(b, 3, "matmul right operand");
        int batch = a.size(0);
        int m = a.size(1);
        int k = a.size(2);
        int n = b.size(2);
        if (b.size(0) != batch || b.size(1) != k) {
            throw new IllegalArgumentException("matmul of " + Arrays.toString(a.shape())
                    + " and " + Arrays.toString(b.shape()));
        }
        // row-major C = A · B is column-major Cᵀ = Bᵀ · Aᵀ: pass B first
        return output(new long[] {batch, m, n}, c -> gemm(Cublas.CUBLAS_OP_N,
                Cublas.CUBLAS_OP_N, n, m, k, b, n, (long) k * n, a, k, (long) m * k, c, n,
                (long) m * n, batch));
    }

    /** Column-major strided-batched GEMM in the configured precision; C is F32. */
    private void gemm(int transA, int transB, int m, int n, int k, Tensor a, int lda,
            long strideA, Tensor b, int ldb, long strideB, Tensor c, int ldc, long strideC,
            int batch) {
        switch (options.precision()) {
            case F32, TF32 -> cublas.gemmStridedBatched(cublasHandle, transA, transB, m, n, k,
                    1f, f32(a), Cublas.CUDA_R_32F, lda, strideA, f32(b), ldb, strideB, 0f,
                    address(c), Cublas.CUDA_R_32F, ldc, strideC, batch,
                    options.precision() == CudaOptions.Precision.TF32
                            ? Cublas.CUBLAS_COMPUTE_32F_FAST_TF32
                            : Cublas.CUBLAS_COMPUTE_32F);
            case F16, BF16 -> {
                int type = options.precision() == CudaOptions.Precision.F16
                        ? Cublas.CUDA_R_16F : Cublas.CUDA_R_16BF;
                long aHalf = lowPrecisionWeight(a);
                try {
                    long bHalf = lowPrecisionWeight(b);
                    try {
                        cublas.gemmStridedBatched(cublasHandle, transA, transB, m, n, k, 1f,
                                aHalf, type, lda, strideA, bHalf, ldb, strideB, 0f, address(c),
                                Cublas.CUDA_R_32F, ldc, strideC, batch,
                                Cublas.CUBLAS_COMPUTE_32F);
                    } finally {
                        if (!isWeight(b)) {
                            memory.release(bHalf);
                        }
                    }
                } finally {
                    if (!isWeight(a)) {
                        memory.release(aHalf);
                    }
                }
            }
        }
    }

    // ---- 16-bit copies ------------------------------------------------------------------

    private boolean isWeight(Tensor t) {
        return weights.contains(address(t));
    }

    /**
     * The 16-bit copy of {@code t}: cached for uploaded weights, made afresh (and to be
     * released by the caller) for activations.
     */
    private long lowPrecisionWeight(Tensor t) {
        if (!isWeight(t)) {
            return toLowPrecision(f32(t), t.numel());
        }
        return lowPrecisionWeights.computeIfAbsent(address(t),
                address -> toLowPrecision(address, t.numel()));
    }

    private long toLowPrecision(long source, long count) {
        Kernel kernel = options.precision() == CudaOptions.Precision.F16
                ? Kernel.F32_TO_F16 : Kernel.F32_TO_BF16;
        long target = memory.allocate(count * 2);
        try {
            launch(kernel, count, new KernelArguments().pointer(target).pointer(source)
                    .i64(count));
            return target;
        } catch (RuntimeException e) {
            memory.release(target);
            throw e;
        }
    }

    private void fromLowPrecision(long source, long target, long count) {
        Kernel kernel = options.precision() == CudaOptions.Precision.F16
                ? Kernel.F16_TO_F32 : Kernel.BF16_TO_F32;
        launch(kernel, count, new KernelArguments().pointer(target).pointer(source).i64(count));
    }

    /** A copy of an F32 tensor in {@code target} storage (F16 or BF16), or back to F32. */
    public synchronized Tensor convert(Tensor x, DType target) {
        enter();
        if (x.dtype() == target) {
            throw new IllegalArgumentException("tensor is already " + target);
        }
        Kernel kernel = switch (x.dtype().name() + ">" + target.name()) {
            case "F32>F16" -> Kernel.F32_TO_F16;
            case "F32>BF16" -> Kernel.F32_TO_BF16;
            case "F16>F32" -> Kernel.F16_TO_F32;
            case "BF16>F32" -> Kernel.BF16_TO_F32;
            default -> throw new IllegalArgumentException("no conversion from " + x.dtype()
                    + " to " + target);
        };
        return output(target, x.shape(), y -> launch(kernel, x.numel(), new KernelArguments()
                .pointer(address(y)).pointer(address(x)).i64(x.numel())));
    }

    // ---- pointwise and reductions -------------------------------------------------------

    private void biasAct(Tensor y, Tensor x, Tensor bias, int channels, long inner,
            Activation act) {
        launch(Kernel.BIAS_ACT, x.numel(), new KernelArguments().pointer(address(y))
                .pointer(f32(x)).pointer(nullableAddress(bias, this)).i32(channels).i64(inner)
                .i64(x.numel()).i32(act.ordinal()));
    }

    @Override
    public synchronized Tensor activate(Tensor x, Activation act) {
        enter();
        return output(x.shape(), y -> biasAct(y, x, null, 1, 1, act));
    }

    @Override
    public synchronized Tensor add(Tensor a, Tensor b) {
        enter();
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("add of " + Arrays.toString(a.shape()) + " and "
                    + Arrays.toString(b.shape()));
        }
        return output(a.shape(), y -> launch(Kernel.ADD, a.numel(), new KernelArguments()
                .pointer(address(y)).pointer(f32(a)).pointer(f32(b)).i64(a.numel())));
    }

    @Override
    public synchronized Tensor scaleChannels(Tensor x, Tensor scale, Tensor residual) {
        enter();
        requireRank(x, 4, "scaleChannels input");
        int channels = x.size(1);
        boolean perSample = scale.rank() == 2;
        if (perSample ? scale.dim(0) != x.dim(0) || scale.dim(1) != channels
                : scale.numel() != channels) {
            throw new IllegalArgumentException("scale " + Arrays.toString(scale.shape())
                    + " does not fit " + Arrays.toString(x.shape()));
        }
        return output(x.shape(), y -> launch(Kernel.SCALE_CHANNELS, x.numel(),
                new KernelArguments().pointer(address(y)).pointer(f32(x)).pointer(f32(scale))
                        .pointer(nullableAddress(residual, this)).i32(channels)
                        .i64(x.dim(2) * x.dim(3)).i64(x.numel()).i32(perSample ? 1 : 0)));
    }

    @Override
    public synchronized Tensor layerNormLastDim(Tensor x, Tensor gamma, Tensor beta, float eps) {
        enter();
        int cols = x.size(-1);
        long rows = x.numel() / cols;
        return output(x.shape(), y -> launchRows(Kernel.LAYER_NORM_LAST_DIM, rows, 0,
                new KernelArguments().pointer(address(y)).pointer(f32(x)).pointer(f32(gamma))
                        .pointer(f32(beta)).i64(rows).i32(cols).f32(eps)));
    }

    @Override
    public synchronized Tensor layerNormChannels(Tensor x, Tensor gamma, Tensor beta, float eps) {
        enter();
        requireRank(x, 4, "layerNormChannels input");
        long hw = x.dim(2) * x.dim(3);
        return output(x.shape(), y -> launch(Kernel.LAYER_NORM_CHANNELS, x.dim(0) * hw,
                new KernelArguments().pointer(address(y)).pointer(f32(x)).pointer(f32(gamma))
                        .pointer(f32(beta)).i32(x.size(0)).i32(x.size(1)).i64(hw).f32(eps)));
    }

    @Override
    public synchronized Tensor squeezeExcite(Tensor x, Tensor reduceWeight, Tensor reduceBias,
            Tensor expandWeight, Tensor expandBias, Activation act) {
        // scale every channel by its gate
        try (Tensor gate = squeezeExciteGate(x, reduceWeight, reduceBias, expandWeight,
                expandBias, act)) {
            return scaleChannels(x, gate, null);
        }
    }

    @Override
    public synchronized Tensor squeezeExciteGate(Tensor x, Tensor reduceWeight,
            Tensor reduceBias, Tensor expandWeight, Tensor expandBias, Activation act) {
        enter();
        int channels = x.size(1);
        int reduced = reduceWeight.size(0);

        // squeeze: mean over H·W
        try (Tensor pooled = globalPool(x, 0)) {
            // excite: reduce, activate, expand, sigmoid — one block per image
            return output(new long[] {x.dim(0), channels}, gate -> kernels.launch(
                    Kernel.SE_GATE, x.size(0), BLOCK, reduced * Float.BYTES, stream,
                    new KernelArguments().pointer(address(gate)).pointer(address(pooled))
                            .pointer(f32(reduceWeight))
                            .pointer(nullableAddress(reduceBias, this))
                            .pointer(f32(expandWeight))
                            .pointer(nullableAddress(expandBias, this)).i32(channels)
                            .i32(reduced).i32(act.ordinal())));
        }
    }

    @Override
    public synchronized Tensor globalAvgPool(Tensor x) {
        enter();
        return globalPool(x, 0);
    }

    @Override
    public synchronized Tensor globalMaxPool(Tensor x) {
        enter();
        return globalPool(x, 1);
    }

    private Tensor globalPool(Tensor x, int mode) {
        requireRank(x, 4, "global pooling input");
        long planes = x.dim(0) * x.dim(1);
        return output(new long[] {x.dim(0), x.dim(1)}, y -> launchRows(Kernel.GLOBAL_POOL,
                planes, 0, new KernelArguments().pointer(address(y)).pointer(f32(x))
                        .i64(planes).i64(x.dim(2) * x.dim(3)).i32(mode)));
    }

    @Override
    public synchronized Tensor softmax(Tensor x) {
        enter();
        int cols = x.size(-1);
        long rows = x.numel() / cols;
        return output(x.shape(), y -> launchRows(Kernel.SOFTMAX_LAST_DIM, rows, 0,
                new KernelArguments().pointer(address(y)).pointer(f32(x)).i64(rows).i32(cols)));
    }

    // ---- operations beyond Backend: the MIL head and the ROI sampler --------------------

    /** The pooled bag features {@code [B, D]} and the attention {@code [B, S]}. */
    public record AttentionPooled(Tensor pooled, Tensor attention) implements AutoCloseable {
        @Override
        public void close() {
            pooled.close();
            attention.close();
        }
    }

    /**
     * Attention-MIL pooling: {@code a_s = w·tanh(h_s) + b}, softmax over s, weighted sum.
     *
     * @param h    {@code [B, S, D]}
     * @param w    {@code [D]} or {@code [1, D]} ({@code attention.1.weight})
     * @param bias {@code [1]} ({@code attention.1.bias})
     */
    public synchronized AttentionPooled attentionPool(Tensor h, Tensor w, Tensor bias) {
        enter();
        requireRank(h, 3, "attention input");
        int bags = h.size(0);
        int instances = h.size(1);
        int dim = h.size(2);
        Tensor[] attention = new Tensor[1];
        Tensor pooled = output(new long[] {bags, dim}, p -> attention[0] = output(
                new long[] {bags, instances}, a -> kernels.launch(Kernel.ATTENTION_POOL, bags,
                        BLOCK, instances * Float.BYTES, stream, new KernelArguments()
                                .pointer(address(p)).pointer(address(a)).pointer(f32(h))
                                .pointer(f32(w)).pointer(f32(bias)).i32(bags).i32(instances)
                                .i32(dim))));
        return new AttentionPooled(pooled, attention[0]);
    }

    /** One target of the ROI sampler; see {@code roi_sampler.cuh} for the coordinates. */
    public record RoiTarget(long volumeOffset, int depth, int height, int width,
            int centreSlice, float centreX, float centreY, float halfWidth, float halfHeight,
            float angle) {}

    /**
     * Cuts a bag {@code [S, outH, outW]} per target out of {@code volumes} (the study's
     * series, each {@code [D, H, W]}, back to back) in one launch, then normalises each image
     * (0 none, 1 min-max, 2 mean/std).
     *
     * @return {@code [T, S, outH, outW]}
     */
    public synchronized Tensor sampleRois(Tensor volumes, List<RoiTarget> targets,
            int instances, int step,
            int outH, int outW, int normalization) {
        enter();
        int count = targets.size();
        long[] offsets = new long[count];
        int[] dims = new int[count * 4];
        float[] boxes = new float[count * 5];
        for (int t = 0; t < count; t++) {
            RoiTarget target = targets.get(t);
            offsets[t] = target.volumeOffset();
            dims[4 * t] = target.depth();
            dims[4 * t + 1] = target.height();
            dims[4 * t + 2] = target.width();
            dims[4 * t + 3] = target.centreSlice();
            boxes[5 * t] = target.centreX();
            boxes[5 * t + 1] = target.centreY();
            boxes[5 * t + 2] = target.halfWidth();
            boxes[5 * t + 3] = target.halfHeight();
            boxes[5 * t + 4] = target.angle();
        }
        long offsetsDevice = uploadArray(MemorySegment.ofArray(offsets));
        long dimsDevice = uploadArray(MemorySegment.ofArray(dims));
        long boxesDevice = uploadArray(MemorySegment.ofArray(boxes));
        try {
            return output(new long[] {count, instances, outH, outW}, out -> {
                launch(Kernel.ROI_SAMPLE, out.numel(), new KernelArguments()
                        .pointer(address(out)).pointer(f32(volumes)).pointer(offsetsDevice)
                        .pointer(dimsDevice).pointer(boxesDevice).i32(count).i32(instances)
                        .i32(step).i32(outH).i32(outW));
                if (normalization != 0) {
                    long images = (long) count * instances;
                    launchRows(Kernel.ROI_NORMALIZE, images, 0, new KernelArguments()
                            .pointer(address(out)).i64(images).i64((long) outH * outW)
                            .i32(normalization));
                }
                driver.streamSynchronize(stream);
            });
        } finally {
            memory.release(offsetsDevice);
            memory.release(dimsDevice);
            memory.release(boxesDevice);
        }
    }

    /**
     * Where and how one bag is cut, in the terms of {@code bag_sampler.cuh}: the host has folded
     * the crop geometry into an affine map from output pixel to source pixel and picked every
     * plane's slice.
     *
     * @param stackStart element offset of the bag's stack {@code [slices, rows, cols]} in the
     *                   study buffer
     * @param slices     the slice of each of the bag's S · C planes, already clamped
     * @param map        {@code x0, dx/dox, dx/doy, y0, dy/dox, dy/doy} in source pixels
     * @param mode       normalisation: 0 min-max, 1 mean and std, 2 window
     */
    public record BagCut(long stackStart, int rows, int cols, int[] slices, int outRows,
            int outCols, double[] map, int mode, float low, float high) {}

    /**
     * Cuts every bag of {@code cuts} out of {@code stacks} (a study's stacks back to back on this
     * device) with one sampling launch and one normalisation launch.
     *
     * @return the bags packed one after another, bag t's {@code planes · outRows · outCols}
     *         values at the sum of the sizes of the bags before it; a flat F32 tensor
     */
    public synchronized Tensor sampleBags(Tensor stacks, List<BagCut> cuts) {
        enter();
        int count = cuts.size();
        long[] bagStart = new long[count + 1];
        long[] stackStart = new long[count];
        int[] shape = new int[count * 6];
        double[] map = new double[count * 6];
        int[] mode = new int[count];
        float[] window = new float[count * 2];
        int tableLength = 0;
        for (BagCut cut : cuts) {
            tableLength = Math.addExact(tableLength, cut.slices().length);
        }
        int[] sliceTable = new int[Math.max(1, tableLength)];
        int sliceBase = 0;
        for (int t = 0; t < count; t++) {
            BagCut cut = cuts.get(t);
            int planes = cut.slices().length;
            bagStart[t + 1] = bagStart[t] + (long) planes * cut.outRows() * cut.outCols();
            stackStart[t] = cut.stackStart();
            shape[6 * t] = cut.rows();
            shape[6 * t + 1] = cut.cols();
            shape[6 * t + 2] = planes;
            shape[6 * t + 3] = cut.outRows();
            shape[6 * t + 4] = cut.outCols();
            shape[6 * t + 5] = sliceBase;
            System.arraycopy(cut.slices(), 0, sliceTable, sliceBase, planes);
            sliceBase += planes;
            System.arraycopy(cut.map(), 0, map, 6 * t, 6);
            mode[t] = cut.mode();
            window[2 * t] = cut.low();
            window[2 * t + 1] = cut.high();
        }
        List<Long> staged = new ArrayList<>();
        try {
            long bagStartDevice = stage(staged, MemorySegment.ofArray(bagStart));
            long stackStartDevice = stage(staged, MemorySegment.ofArray(stackStart));
            long shapeDevice = stage(staged, MemorySegment.ofArray(shape));
            long tableDevice = stage(staged, MemorySegment.ofArray(sliceTable));
            long mapDevice = stage(staged, MemorySegment.ofArray(map));
            long modeDevice = stage(staged, MemorySegment.ofArray(mode));
            long windowDevice = stage(staged, MemorySegment.ofArray(window));
            return output(new long[] {Math.max(1, bagStart[count])}, out -> {
                launch(Kernel.BAG_SAMPLE, bagStart[count], new KernelArguments()
                        .pointer(address(out)).pointer(f32(stacks)).pointer(bagStartDevice)
                        .pointer(stackStartDevice).pointer(shapeDevice).pointer(tableDevice)
                        .pointer(mapDevice).i32(count));
                launchRows(Kernel.BAG_NORMALIZE, count, 0, new KernelArguments()
                        .pointer(address(out)).pointer(bagStartDevice).pointer(modeDevice)
                        .pointer(windowDevice).i32(count));
                driver.streamSynchronize(stream);
            });
        } finally {
            for (long address : staged) {
                memory.release(address);
            }
        }
    }

    private long stage(List<Long> staged, MemorySegment heap) {
        long address = uploadArray(heap);
        staged.add(address);
        return address;
    }

    private long uploadArray(MemorySegment heap) {
        long address = memory.allocate(heap.byteSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.max(1, heap.byteSize()), 16);
            MemorySegment.copy(heap, 0, staging, 0, heap.byteSize());
            driver.copyHostToDeviceAsync(address, staging, heap.byteSize(), stream);
            driver.streamSynchronize(stream);
        }
        return address;
    }

    /** {@code [N, C, H, W] → [N, H, W, C]}. */
    public synchronized Tensor nchwToNhwc(Tensor x) {
        enter();
        requireRank(x, 4, "layout conversion input");
        return output(new long[] {x.dim(0), x.dim(2), x.dim(3), x.dim(1)}, y -> launch(
                Kernel.NCHW_TO_NHWC, x.numel(), new KernelArguments().pointer(address(y))
                        .pointer(f32(x)).i32(x.size(0)).i32(x.size(1))
                        .i64(x.dim(2) * x.dim(3))));
    }

    /** {@code [N, H, W, C] → [N, C, H, W]}. */
    public synchronized Tensor nhwcToNchw(Tensor x) {
        enter();
        requireRank(x, 4, "layout conversion input");
        return output(new long[] {x.dim(0), x.dim(3), x.dim(1), x.dim(2)}, y -> launch(
                Kernel.NHWC_TO_NCHW, x.numel(), new KernelArguments().pointer(address(y))
                        .pointer(f32(x)).i32(x.size(0)).i32(x.size(3))
                        .i64(x.dim(1) * x.dim(2))));
    }

    // ---- CUDA graphs --------------------------------------------------------------------

    /**
     * A forward pass captured as a CUDA graph for fixed shapes: {@link #run} replays every
     * kernel, cuDNN and cuBLAS call with one launch. The graph reads {@link #input()} and
     * writes {@link #output()} at the addresses they had during the capture; copy new data
     * into the input with {@link CudaBackend#copyInto} before each run.
     */
    public final class CapturedForward implements AutoCloseable {
        private final MemorySegment graph;
        private final MemorySegment executable;
        private final Tensor input;
        private final Tensor output;
        private final Set<Long> reserved;
        private boolean released;

        private CapturedForward(MemorySegment graph, MemorySegment executable, Tensor input,
                Tensor output, Set<Long> reserved) {
            this.graph = graph;
            this.executable = executable;
            this.input = input;
            this.output = output;
            this.reserved = reserved;
        }

        /** The tensor the graph reads; its shape and address are fixed. */
        public Tensor input() {
            return input;
        }

        /** The tensor the graph writes; valid after {@link #run} until the next run. */
        public Tensor output() {
            return output.reshape(output.shape());
        }

        /** Queues one replay of the captured forward on the backend's stream. */
        public void run() {
            synchronized (CudaBackend.this) {
                enter();
                driver.graphLaunch(executable, stream);
            }
        }

        @Override
        public void close() {
            synchronized (CudaBackend.this) {
                if (released) {
                    return;
                }
                released = true;
                if (!closed) {
                    enter();
                    driver.streamSynchronize(stream);
                    driver.graphExecDestroy(executable);
                    driver.graphDestroy(graph);
                    memory.unreserve(reserved);
                }
                output.close();
            }
        }
    }

    /**
     * Captures {@code forward} applied to {@code input} as a CUDA graph. Run the forward once
     * uncaptured first, with the same shapes: that uploads the weights, makes the cuDNN plans
     * and fills the memory cache, none of which may happen inside a capture. The forward must
     * only queue work (no upload, download or synchronisation). The input stays owned by the
     * caller and must outlive the returned graph.
     */
    public synchronized CapturedForward capture(Tensor input,
            java.util.function.UnaryOperator<Tensor> forward) {
        enter();
        driver.streamSynchronize(stream);
        memory.beginRecording();
        Tensor output = null;
        Set<Long> reserved;
        MemorySegment graph;
        try {
            // Relaxed mode: a cache miss may still call cuMemAlloc during the capture.
            driver.beginCapture(stream, CudaDriver.CU_STREAM_CAPTURE_MODE_RELAXED);
            try {
                output = forward.apply(input);
            } finally {
                graph = driver.endCapture(stream);
            }
        } finally {
            reserved = memory.endRecording();
        }
        try {
            MemorySegment executable = driver.graphInstantiate(graph);
            return new CapturedForward(graph, executable, input, output, reserved);
        } catch (RuntimeException e) {
            driver.graphDestroy(graph);
            memory.unreserve(reserved);
            output.close();
            throw e;
        }
    }

    /** Copies a host tensor into an existing device tensor of the same size (F32). */
    public synchronized void copyInto(Tensor deviceTarget, Tensor host) {
        enter();
        host.requireHost();
        host.requireDType(DType.F32);
        if (host.byteSize() != deviceTarget.byteSize()) {
            throw new IllegalArgumentException("cannot copy " + host + " into " + deviceTarget);
        }
        driver.copyHostToDeviceAsync(f32(deviceTarget), host.segment(), host.byteSize(), stream);
        driver.streamSynchronize(stream);
    }

    // ---- launching ----------------------------------------------------------------------

    /** A grid-stride kernel over {@code work} elements: enough blocks to fill the device. */
    private void launch(Kernel kernel, long work, KernelArguments arguments) {
        if (work == 0) {
            return;
        }
        long wanted = (work + BLOCK - 1) / BLOCK;
        int grid = (int) Math.min(wanted, (long) multiprocessors * 32);
        kernels.launch(kernel, grid, BLOCK, 0, stream, arguments);
    }

    /** A kernel with one block per row (rows beyond the grid are strided). */
    private void launchRows(Kernel kernel, long rows, int sharedBytes,
            KernelArguments arguments) {
        if (rows == 0) {
            return;
        }
        int grid = (int) Math.min(rows, 1 << 20);
        kernels.launch(kernel, grid, BLOCK, sharedBytes, stream, arguments);
    }

    private void enter() {
        if (closed) {
            throw new IllegalStateException("the CUDA backend is closed");
        }
        driver.setCurrentContext(context);
    }

    private static void requireRank(Tensor t, int rank, String what) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ", got "
                    + Arrays.toString(t.shape()));
        }
    }

    private static String capability(int cc) {
        return (cc / 10) + "." + (cc % 10);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            driver.setCurrentContext(context);
            driver.streamSynchronize(stream);
        } finally {
            closed = true;
            releaseAll();
        }
    }

    /** Releases what the constructor and the plans created, newest first. */
    private void releaseAll() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "while closing the CUDA backend: {0}",
                        e.getMessage());
            }
        }
        cleanup.clear();
    }
}
