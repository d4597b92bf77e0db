package dev.lumbar.bindings;

import static dev.lumbar.bindings.Symbols.C_INT;
import static dev.lumbar.bindings.Symbols.C_POINTER;
import static dev.lumbar.bindings.Symbols.callInt;
import static dev.lumbar.bindings.Symbols.fn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The few CUDA runtime ({@code libcudart}) calls the engine makes: versions and device count.
 * The runtime loads without a driver, so these also explain a missing driver in plain words
 * (e.g. {@code cudaErrorInsufficientDriver}). Everything else goes through {@link CudaDriver}.
 */
public final class CudaRuntime {

    public static final int CUDA_SUCCESS = 0;
    public static final int CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
    public static final int CUDA_ERROR_NO_DEVICE = 100;

    static final NativeFunction RUNTIME_GET_VERSION =
            fn("cudaRuntimeGetVersion", C_INT, C_POINTER);
    static final NativeFunction DRIVER_GET_VERSION =
            fn("cudaDriverGetVersion", C_INT, C_POINTER);
    static final NativeFunction GET_DEVICE_COUNT = fn("cudaGetDeviceCount", C_INT, C_POINTER);
    static final NativeFunction GET_ERROR_NAME = fn("cudaGetErrorName", C_POINTER, C_INT);
    static final NativeFunction GET_ERROR_STRING = fn("cudaGetErrorString", C_POINTER, C_INT);

    public static List<NativeFunction> functions() {
        return List.of(RUNTIME_GET_VERSION, DRIVER_GET_VERSION, GET_DEVICE_COUNT,
                GET_ERROR_NAME, GET_ERROR_STRING);
    }

    private final String origin;
    private final MethodHandle runtimeGetVersion;
    private final MethodHandle driverGetVersion;
    private final MethodHandle getDeviceCount;
    private final MethodHandle getErrorName;
    private final MethodHandle getErrorString;

    private CudaRuntime(Symbols symbols, String origin) {
        this.origin = origin;
        runtimeGetVersion = symbols.bind(RUNTIME_GET_VERSION);
        driverGetVersion = symbols.bind(DRIVER_GET_VERSION);
        getDeviceCount = symbols.bind(GET_DEVICE_COUNT);
        getErrorName = symbols.bind(GET_ERROR_NAME);
        getErrorString = symbols.bind(GET_ERROR_STRING);
    }

    public static Loaded<CudaRuntime> load(NativeLibraries libraries) {
        NativeLibraries.Opened opened = libraries.open(Library.CUDA_RUNTIME);
        return Loaded.bind(opened, "libcudart", CudaRuntime::new);
    }

    public String origin() {
        return origin;
    }

    public void check(int status, String call) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException(call, status, errorName(status), errorString(status));
        }
    }

    public String errorName(int status) {
        return Symbols.cString((MemorySegment) Symbols.call(getErrorName, status));
    }

    public String errorString(int status) {
        return Symbols.cString((MemorySegment) Symbols.call(getErrorString, status));
    }

    /** The runtime's own version, e.g. 13000 for 13.0. */
    public int runtimeVersion() {
        return outInt(runtimeGetVersion, "cudaRuntimeGetVersion");
    }

    /** The installed driver's CUDA version, 0 when no driver is installed. */
    public int driverVersion() {
        return outInt(driverGetVersion, "cudaDriverGetVersion");
    }

    /** Number of usable GPUs; throws with the runtime's reason when there are none. */
    public int deviceCount() {
        return outInt(getDeviceCount, "cudaGetDeviceCount");
    }

    private int outInt(MethodHandle handle, String call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check(callInt(handle, out), call);
            return out.get(C_INT, 0);
        }
    }

    /** Formats a CUDA version number such as 12040 as {@code 12.4}. */
    public static String formatVersion(int version) {
        return (version / 1000) + "." + (version % 1000) / 10;
    }
}
