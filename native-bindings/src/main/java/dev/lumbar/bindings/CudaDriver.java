package dev.lumbar.bindings;

import static dev.lumbar.bindings.Symbols.C_CHAR;
import static dev.lumbar.bindings.Symbols.C_DEVICE_PTR;
import static dev.lumbar.bindings.Symbols.C_FLOAT;
import static dev.lumbar.bindings.Symbols.C_INT;
import static dev.lumbar.bindings.Symbols.C_LONG_LONG;
import static dev.lumbar.bindings.Symbols.C_POINTER;
import static dev.lumbar.bindings.Symbols.C_SIZE_T;
import static dev.lumbar.bindings.Symbols.callInt;
import static dev.lumbar.bindings.Symbols.fn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The CUDA driver API ({@code libcuda.so.1}): devices, primary contexts, memory, streams,
 * events, modules, kernel launches and graphs.
 *
 * <p>Where {@code cuda.h} maps a name to a versioned symbol ({@code cuMemAlloc} to
 * {@code cuMemAlloc_v2}) the versioned symbol is bound, as the header would. Handles
 * ({@code CUcontext}, {@code CUstream}, ...) are {@code MemorySegment} addresses; device memory
 * is a {@code long} ({@code CUdeviceptr}).
 */
public final class CudaDriver {

    // CUresult values (cuda.h).
    public static final int CUDA_SUCCESS = 0;
    public static final int CUDA_ERROR_INVALID_VALUE = 1;
    public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    public static final int CUDA_ERROR_NOT_INITIALIZED = 3;
    public static final int CUDA_ERROR_NO_DEVICE = 100;
    public static final int CUDA_ERROR_INVALID_DEVICE = 101;
    public static final int CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
    public static final int CUDA_ERROR_NOT_FOUND = 500;

    // CUdevice_attribute values.
    public static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

    // Flags.
    public static final int CU_STREAM_DEFAULT = 0;
    public static final int CU_STREAM_NON_BLOCKING = 1;
    public static final int CU_EVENT_DEFAULT = 0;
    public static final int CU_EVENT_BLOCKING_SYNC = 1;
    public static final int CU_EVENT_DISABLE_TIMING = 2;
    public static final int CU_MEMHOSTALLOC_PORTABLE = 1;
    public static final int CU_STREAM_CAPTURE_MODE_GLOBAL = 0;
    public static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    public static final int CU_STREAM_CAPTURE_MODE_RELAXED = 2;

    static final NativeFunction INIT = fn("cuInit", C_INT, C_INT);
    static final NativeFunction DRIVER_GET_VERSION = fn("cuDriverGetVersion", C_INT, C_POINTER);
    static final NativeFunction DEVICE_GET_COUNT = fn("cuDeviceGetCount", C_INT, C_POINTER);
    static final NativeFunction DEVICE_GET = fn("cuDeviceGet", C_INT, C_POINTER, C_INT);
    static final NativeFunction DEVICE_GET_NAME =
            fn("cuDeviceGetName", C_INT, C_POINTER, C_INT, C_INT);
    static final NativeFunction DEVICE_TOTAL_MEM =
            fn("cuDeviceTotalMem_v2", C_INT, C_POINTER, C_INT);
    static final NativeFunction DEVICE_GET_ATTRIBUTE =
            fn("cuDeviceGetAttribute", C_INT, C_POINTER, C_INT, C_INT);
    static final NativeFunction PRIMARY_CTX_RETAIN =
            fn("cuDevicePrimaryCtxRetain", C_INT, C_POINTER, C_INT);
    static final NativeFunction PRIMARY_CTX_RELEASE =
            fn("cuDevicePrimaryCtxRelease_v2", C_INT, C_INT);
    static final NativeFunction CTX_SET_CURRENT = fn("cuCtxSetCurrent", C_INT, C_POINTER);
    static final NativeFunction CTX_SYNCHRONIZE = fn("cuCtxSynchronize", C_INT);
    static final NativeFunction MEM_GET_INFO =
            fn("cuMemGetInfo_v2", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction MEM_ALLOC = fn("cuMemAlloc_v2", C_INT, C_POINTER, C_SIZE_T);
    static final NativeFunction MEM_FREE = fn("cuMemFree_v2", C_INT, C_DEVICE_PTR);
    static final NativeFunction MEMCPY_HTOD =
            fn("cuMemcpyHtoD_v2", C_INT, C_DEVICE_PTR, C_POINTER, C_SIZE_T);
    static final NativeFunction MEMCPY_DTOH =
            fn("cuMemcpyDtoH_v2", C_INT, C_POINTER, C_DEVICE_PTR, C_SIZE_T);
    static final NativeFunction MEMCPY_DTOD =
            fn("cuMemcpyDtoD_v2", C_INT, C_DEVICE_PTR, C_DEVICE_PTR, C_SIZE_T);
    static final NativeFunction MEMCPY_HTOD_ASYNC =
            fn("cuMemcpyHtoDAsync_v2", C_INT, C_DEVICE_PTR, C_POINTER, C_SIZE_T, C_POINTER);
    static final NativeFunction MEMCPY_DTOH_ASYNC =
            fn("cuMemcpyDtoHAsync_v2", C_INT, C_POINTER, C_DEVICE_PTR, C_SIZE_T, C_POINTER);
    static final NativeFunction MEMCPY_DTOD_ASYNC =
            fn("cuMemcpyDtoDAsync_v2", C_INT, C_DEVICE_PTR, C_DEVICE_PTR, C_SIZE_T, C_POINTER);
    static final NativeFunction MEMSET_D8_ASYNC =
            fn("cuMemsetD8Async", C_INT, C_DEVICE_PTR, C_CHAR, C_SIZE_T, C_POINTER);
    static final NativeFunction MEM_HOST_ALLOC =
            fn("cuMemHostAlloc", C_INT, C_POINTER, C_SIZE_T, C_INT);
    static final NativeFunction MEM_FREE_HOST = fn("cuMemFreeHost", C_INT, C_POINTER);
    static final NativeFunction STREAM_CREATE = fn("cuStreamCreate", C_INT, C_POINTER, C_INT);
    static final NativeFunction STREAM_DESTROY = fn("cuStreamDestroy_v2", C_INT, C_POINTER);
    static final NativeFunction STREAM_SYNCHRONIZE = fn("cuStreamSynchronize", C_INT, C_POINTER);
    static final NativeFunction EVENT_CREATE = fn("cuEventCreate", C_INT, C_POINTER, C_INT);
    static final NativeFunction EVENT_RECORD =
            fn("cuEventRecord", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction EVENT_SYNCHRONIZE = fn("cuEventSynchronize", C_INT, C_POINTER);
    /** {@code _v2} exists from CUDA 12.8 drivers on; older ones export only the plain name. */
    static final NativeFunction EVENT_ELAPSED_TIME = new NativeFunction(
            List.of("cuEventElapsedTime_v2", "cuEventElapsedTime"),
            java.lang.foreign.FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER));
    static final NativeFunction EVENT_DESTROY = fn("cuEventDestroy_v2", C_INT, C_POINTER);
    static final NativeFunction MODULE_LOAD_DATA =
            fn("cuModuleLoadData", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction MODULE_UNLOAD = fn("cuModuleUnload", C_INT, C_POINTER);
    static final NativeFunction MODULE_GET_FUNCTION =
            fn("cuModuleGetFunction", C_INT, C_POINTER, C_POINTER, C_POINTER);
    static final NativeFunction LAUNCH_KERNEL = fn("cuLaunchKernel", C_INT,
            C_POINTER, C_INT, C_INT, C_INT, C_INT, C_INT, C_INT, C_INT, C_POINTER, C_POINTER,
            C_POINTER);
    static final NativeFunction STREAM_BEGIN_CAPTURE =
            fn("cuStreamBeginCapture_v2", C_INT, C_POINTER, C_INT);
    static final NativeFunction STREAM_END_CAPTURE =
            fn("cuStreamEndCapture", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction GRAPH_INSTANTIATE =
            fn("cuGraphInstantiateWithFlags", C_INT, C_POINTER, C_POINTER, C_LONG_LONG);
    static final NativeFunction GRAPH_LAUNCH = fn("cuGraphLaunch", C_INT, C_POINTER, C_POINTER);
    static final NativeFunction GRAPH_EXEC_DESTROY = fn("cuGraphExecDestroy", C_INT, C_POINTER);
    static final NativeFunction GRAPH_DESTROY = fn("cuGraphDestroy", C_INT, C_POINTER);
    static final NativeFunction GET_ERROR_NAME =
            fn("cuGetErrorName", C_INT, C_INT, C_POINTER);
    static final NativeFunction GET_ERROR_STRING =
            fn("cuGetErrorString", C_INT, C_INT, C_POINTER);

    /** Every function this class binds, for signature tests. */
    public static List<NativeFunction> functions() {
        return List.of(INIT, DRIVER_GET_VERSION, DEVICE_GET_COUNT, DEVICE_GET, DEVICE_GET_NAME,
                DEVICE_TOTAL_MEM, DEVICE_GET_ATTRIBUTE, PRIMARY_CTX_RETAIN, PRIMARY_CTX_RELEASE,
                CTX_SET_CURRENT, CTX_SYNCHRONIZE, MEM_GET_INFO, MEM_ALLOC, MEM_FREE,
                MEMCPY_HTOD, MEMCPY_DTOH, MEMCPY_DTOD, MEMCPY_HTOD_ASYNC, MEMCPY_DTOH_ASYNC,
                MEMCPY_DTOD_ASYNC, MEMSET_D8_ASYNC, MEM_HOST_ALLOC, MEM_FREE_HOST,
                STREAM_CREATE, STREAM_DESTROY, STREAM_SYNCHRONIZE, EVENT_CREATE, EVENT_RECORD,
                EVENT_SYNCHRONIZE, EVENT_ELAPSED_TIME, EVENT_DESTROY, MODULE_LOAD_DATA,
                MODULE_UNLOAD, MODULE_GET_FUNCTION, LAUNCH_KERNEL, STREAM_BEGIN_CAPTURE,
                STREAM_END_CAPTURE, GRAPH_INSTANTIATE, GRAPH_LAUNCH, GRAPH_EXEC_DESTROY,
                GRAPH_DESTROY, GET_ERROR_NAME, GET_ERROR_STRING);
    }

    private final String origin;
    private final MethodHandle init;
    private final MethodHandle driverGetVersion;
    private final MethodHandle deviceGetCount;
    private final MethodHandle deviceGet;
    private final MethodHandle deviceGetName;
    private final MethodHandle deviceTotalMem;
    private final MethodHandle deviceGetAttribute;
    private final MethodHandle primaryCtxRetain;
    private final MethodHandle primaryCtxRelease;
    private final MethodHandle ctxSetCurrent;
    private final MethodHandle ctxSynchronize;
    private final MethodHandle memGetInfo;
    private final MethodHandle memAlloc;
    private final MethodHandle memFree;
    private final MethodHandle memcpyHtoD;
    private final MethodHandle memcpyDtoH;
    private final MethodHandle memcpyDtoD;
    private final MethodHandle memcpyHtoDAsync;
    private final MethodHandle memcpyDtoHAsync;
    private final MethodHandle memcpyDtoDAsync;
    private final MethodHandle memsetD8Async;
    private final MethodHandle memHostAlloc;
    private final MethodHandle memFreeHost;
    private final MethodHandle streamCreate;
    private final MethodHandle streamDestroy;
    private final MethodHandle streamSynchronize;
    private final MethodHandle eventCreate;
    private final MethodHandle eventRecord;
    private final MethodHandle eventSynchronize;
    private final MethodHandle eventElapsedTime;
    private final MethodHandle eventDestroy;
    private final MethodHandle moduleLoadData;
    private final MethodHandle moduleUnload;
    private final MethodHandle moduleGetFunction;
    private final MethodHandle launchKernel;
    private final MethodHandle streamBeginCapture;
    private final MethodHandle streamEndCapture;
    private final MethodHandle graphInstantiate;
    private final MethodHandle graphLaunch;
    private final MethodHandle graphExecDestroy;
    private final MethodHandle graphDestroy;
    private final MethodHandle getErrorName;
    private final MethodHandle getErrorString;

    private CudaDriver(Symbols symbols, String origin) {
        this.origin = origin;
        init = symbols.bind(INIT);
        driverGetVersion = symbols.bind(DRIVER_GET_VERSION);
        deviceGetCount = symbols.bind(DEVICE_GET_COUNT);
        deviceGet = symbols.bind(DEVICE_GET);
        deviceGetName = symbols.bind(DEVICE_GET_NAME);
        deviceTotalMem = symbols.bind(DEVICE_TOTAL_MEM);
        deviceGetAttribute = symbols.bind(DEVICE_GET_ATTRIBUTE);
        primaryCtxRetain = symbols.bind(PRIMARY_CTX_RETAIN);
        primaryCtxRelease = symbols.bind(PRIMARY_CTX_RELEASE);
        ctxSetCurrent = symbols.bind(CTX_SET_CURRENT);
        ctxSynchronize = symbols.bind(CTX_SYNCHRONIZE);
        memGetInfo = symbols.bind(MEM_GET_INFO);
        memAlloc = symbols.bind(MEM_ALLOC);
        memFree = symbols.bind(MEM_FREE);
        memcpyHtoD = symbols.bind(MEMCPY_HTOD);
        memcpyDtoH = symbols.bind(MEMCPY_DTOH);
        memcpyDtoD = symbols.bind(MEMCPY_DTOD);
        memcpyHtoDAsync = symbols.bind(MEMCPY_HTOD_ASYNC);
        memcpyDtoHAsync = symbols.bind(MEMCPY_DTOH_ASYNC);
        memcpyDtoDAsync = symbols.bind(MEMCPY_DTOD_ASYNC);
        memsetD8Async = symbols.bind(MEMSET_D8_ASYNC);
        memHostAlloc = symbols.bind(MEM_HOST_ALLOC);
        memFreeHost = symbols.bind(MEM_FREE_HOST);
        streamCreate = symbols.bind(STREAM_CREATE);
        streamDestroy = symbols.bind(STREAM_DESTROY);
        streamSynchronize = symbols.bind(STREAM_SYNCHRONIZE);
        eventCreate = symbols.bind(EVENT_CREATE);
        eventRecord = symbols.bind(EVENT_RECORD);
        eventSynchronize = symbols.bind(EVENT_SYNCHRONIZE);
        eventElapsedTime = symbols.bind(EVENT_ELAPSED_TIME);
        eventDestroy = symbols.bind(EVENT_DESTROY);
        moduleLoadData = symbols.bind(MODULE_LOAD_DATA);
        moduleUnload = symbols.bind(MODULE_UNLOAD);
        moduleGetFunction = symbols.bind(MODULE_GET_FUNCTION);
        launchKernel = symbols.bind(LAUNCH_KERNEL);
        streamBeginCapture = symbols.bind(STREAM_BEGIN_CAPTURE);
        streamEndCapture = symbols.bind(STREAM_END_CAPTURE);
        graphInstantiate = symbols.bind(GRAPH_INSTANTIATE);
        graphLaunch = symbols.bind(GRAPH_LAUNCH);
        graphExecDestroy = symbols.bind(GRAPH_EXEC_DESTROY);
        graphDestroy = symbols.bind(GRAPH_DESTROY);
        getErrorName = symbols.bind(GET_ERROR_NAME);
        getErrorString = symbols.bind(GET_ERROR_STRING);
    }

    /** Opens the driver library found by {@code libraries} and binds every function. */
    public static Loaded<CudaDriver> load(NativeLibraries libraries) {
        NativeLibraries.Opened opened = libraries.open(Library.CUDA_DRIVER);
        if (!opened.ok()) {
            return Loaded.missing(opened.reason() + " (the NVIDIA driver is not installed)");
        }
        return Loaded.bind(opened, "libcuda", CudaDriver::new);
    }

    /** Where the library was loaded from. */
    public String origin() {
        return origin;
    }

    /** Throws a {@link CudaException} naming {@code call} unless {@code status} is success. */
    public void check(int status, String call) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException(call, status, errorName(status), errorString(status));
        }
    }

    /** The driver's name for a {@code CUresult}, e.g. {@code CUDA_ERROR_NO_DEVICE}. */
    public String errorName(int status) {
        return errorText(getErrorName, status);
    }

    /** The driver's description of a {@code CUresult}. */
    public String errorString(int status) {
        return errorText(getErrorString, status);
    }

    private static String errorText(MethodHandle handle, int status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int rc = callInt(handle, status, out);
            if (rc != CUDA_SUCCESS) {
                return "unknown CUresult " + status;
            }
            return Symbols.cString(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    public void init() {
        check(callInt(init, 0), "cuInit");
    }

    /** The driver's CUDA version, e.g. 12040 for 12.4. */
    public int driverVersion() {
        return outInt(driverGetVersion, "cuDriverGetVersion");
    }

    public int deviceCount() {
        return outInt(deviceGetCount, "cuDeviceGetCount");
    }

    /** The {@code CUdevice} handle of device {@code ordinal}. */
    public int device(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check(callInt(deviceGet, out, ordinal), "cuDeviceGet");
            return out.get(C_INT, 0);
        }
    }

    public String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            int capacity = 256;
            MemorySegment name = arena.allocate(capacity);
            check(callInt(deviceGetName, name, capacity, device), "cuDeviceGetName");
            return name.getString(0);
        }
    }

    /** Total device memory in bytes. */
    public long deviceTotalMemory(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_SIZE_T);
            check(callInt(deviceTotalMem, out, device), "cuDeviceTotalMem_v2");
            return out.get(C_SIZE_T, 0);
        }
    }

    public int deviceAttribute(int attribute, int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check(callInt(deviceGetAttribute, out, attribute, device), "cuDeviceGetAttribute");
            return out.get(C_INT, 0);
        }
    }

    /** Compute capability as major·10 + minor, e.g. 90 for an H100. */
    public int computeCapability(int device) {
        return 10 * deviceAttribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + deviceAttribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    }

    public MemorySegment primaryContextRetain(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(primaryCtxRetain, out, device), "cuDevicePrimaryCtxRetain");
            return out.get(C_POINTER, 0);
        }
    }

    public void primaryContextRelease(int device) {
        check(callInt(primaryCtxRelease, device), "cuDevicePrimaryCtxRelease_v2");
    }

    public void setCurrentContext(MemorySegment context) {
        check(callInt(ctxSetCurrent, context), "cuCtxSetCurrent");
    }

    public void synchronizeContext() {
        check(callInt(ctxSynchronize), "cuCtxSynchronize");
    }

    /** Free and total device memory of the current context's device, in bytes. */
    public long[] memoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(C_SIZE_T);
            MemorySegment total = arena.allocate(C_SIZE_T);
            check(callInt(memGetInfo, free, total), "cuMemGetInfo_v2");
            return new long[] {free.get(C_SIZE_T, 0), total.get(C_SIZE_T, 0)};
        }
    }

    /** Allocates {@code bytes} of device memory; returns its device address. */
    public long malloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_DEVICE_PTR);
            int status = callInt(memAlloc, out, bytes);
            if (status != CUDA_SUCCESS) {
                throw new CudaException("cuMemAlloc_v2(" + bytes + " bytes)", status,
                        errorName(status), errorString(status));
            }
            return out.get(C_DEVICE_PTR, 0);
        }
    }

    public void free(long deviceAddress) {
        check(callInt(memFree, deviceAddress), "cuMemFree_v2");
    }

    public void copyHostToDevice(long dst, MemorySegment src, long bytes) {
        check(callInt(memcpyHtoD, dst, src, bytes), "cuMemcpyHtoD_v2");
    }

    public void copyDeviceToHost(MemorySegment dst, long src, long bytes) {
        check(callInt(memcpyDtoH, dst, src, bytes), "cuMemcpyDtoH_v2");
    }

    public void copyDeviceToDevice(long dst, long src, long bytes) {
        check(callInt(memcpyDtoD, dst, src, bytes), "cuMemcpyDtoD_v2");
    }

    /** Asynchronous on {@code stream}; {@code src} must stay alive (pinned for overlap). */
    public void copyHostToDeviceAsync(long dst, MemorySegment src, long bytes,
            MemorySegment stream) {
        check(callInt(memcpyHtoDAsync, dst, src, bytes, stream), "cuMemcpyHtoDAsync_v2");
    }

    public void copyDeviceToHostAsync(MemorySegment dst, long src, long bytes,
            MemorySegment stream) {
        check(callInt(memcpyDtoHAsync, dst, src, bytes, stream), "cuMemcpyDtoHAsync_v2");
    }

    public void copyDeviceToDeviceAsync(long dst, long src, long bytes, MemorySegment stream) {
        check(callInt(memcpyDtoDAsync, dst, src, bytes, stream), "cuMemcpyDtoDAsync_v2");
    }

    public void memsetAsync(long dst, byte value, long bytes, MemorySegment stream) {
        check(callInt(memsetD8Async, dst, value, bytes, stream), "cuMemsetD8Async");
    }

    /** Page-locked host memory of {@code bytes}, readable by Java; free with freeHost. */
    public MemorySegment hostAlloc(long bytes, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(memHostAlloc, out, bytes, flags), "cuMemHostAlloc");
            return out.get(C_POINTER, 0).reinterpret(bytes);
        }
    }

    public void freeHost(MemorySegment pinned) {
        check(callInt(memFreeHost, pinned), "cuMemFreeHost");
    }

    public MemorySegment streamCreate(int flags) {
        return outPointer(streamCreate, "cuStreamCreate", flags);
    }

    public void streamDestroy(MemorySegment stream) {
        check(callInt(streamDestroy, stream), "cuStreamDestroy_v2");
    }

    public void streamSynchronize(MemorySegment stream) {
        check(callInt(streamSynchronize, stream), "cuStreamSynchronize");
    }

    public MemorySegment eventCreate(int flags) {
        return outPointer(eventCreate, "cuEventCreate", flags);
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        check(callInt(eventRecord, event, stream), "cuEventRecord");
    }

    public void eventSynchronize(MemorySegment event) {
        check(callInt(eventSynchronize, event), "cuEventSynchronize");
    }

    /** Milliseconds between two recorded, completed events. */
    public float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_FLOAT);
            check(callInt(eventElapsedTime, out, start, end), "cuEventElapsedTime");
            return out.get(C_FLOAT, 0);
        }
    }

    public void eventDestroy(MemorySegment event) {
        check(callInt(eventDestroy, event), "cuEventDestroy_v2");
    }

    /** Loads a cubin, fatbin or PTX image held in host memory. */
    public MemorySegment moduleLoadData(MemorySegment image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(moduleLoadData, out, image), "cuModuleLoadData");
            return out.get(C_POINTER, 0);
        }
    }

    public void moduleUnload(MemorySegment module) {
        check(callInt(moduleUnload, module), "cuModuleUnload");
    }

    public MemorySegment moduleFunction(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            int status = callInt(moduleGetFunction, out, module, arena.allocateFrom(name));
            if (status != CUDA_SUCCESS) {
                throw new CudaException("cuModuleGetFunction(" + name + ")", status,
                        errorName(status), errorString(status));
            }
            return out.get(C_POINTER, 0);
        }
    }

    /** Launches {@code function}; {@code kernelParams} is a packed {@link KernelArguments}. */
    public void launch(MemorySegment function, int gridX, int gridY, int gridZ, int blockX,
            int blockY, int blockZ, int sharedBytes, MemorySegment stream,
            MemorySegment kernelParams) {
        check(callInt(launchKernel, function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                sharedBytes, stream, kernelParams, MemorySegment.NULL), "cuLaunchKernel");
    }

    public void beginCapture(MemorySegment stream, int mode) {
        check(callInt(streamBeginCapture, stream, mode), "cuStreamBeginCapture_v2");
    }

    /** Ends a capture and returns the captured {@code CUgraph}. */
    public MemorySegment endCapture(MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(streamEndCapture, stream, out), "cuStreamEndCapture");
            return out.get(C_POINTER, 0);
        }
    }

    public MemorySegment graphInstantiate(MemorySegment graph) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(graphInstantiate, out, graph, 0L), "cuGraphInstantiateWithFlags");
            return out.get(C_POINTER, 0);
        }
    }

    public void graphLaunch(MemorySegment graphExec, MemorySegment stream) {
        check(callInt(graphLaunch, graphExec, stream), "cuGraphLaunch");
    }

    public void graphExecDestroy(MemorySegment graphExec) {
        check(callInt(graphExecDestroy, graphExec), "cuGraphExecDestroy");
    }

    public void graphDestroy(MemorySegment graph) {
        check(callInt(graphDestroy, graph), "cuGraphDestroy");
    }

    private int outInt(MethodHandle handle, String call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check(callInt(handle, out), call);
            return out.get(C_INT, 0);
        }
    }

    private MemorySegment outPointer(MethodHandle handle, String call, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            check(callInt(handle, out, flags), call);
            return out.get(C_POINTER, 0);
        }
    }
}
