/*
 * A stand-in for libcuda.so.1 used by the binding tests on machines without a GPU: one fake
 * device whose "device memory" is host memory. It includes the real cuda.h and defines the
 * functions by their unversioned names, so the compiler checks every signature against
 * NVIDIA's header and the header's own macros pick the exported symbol (cuMemAlloc becomes
 * cuMemAlloc_v2): the library exports what a C program built with that header would call.
 */
#include <cuda.h>
#include <stdlib.h>
#include <string.h>

/*
 * Kernels, when mock_kernels.c is linked in: host implementations of the engine's kernels,
 * looked up by name. Without it, modules load but hold no functions.
 */
typedef void (*mock_kernel)(void **params, unsigned int grid);
__attribute__((weak)) mock_kernel mock_kernel_lookup(const char *name);

static int module_token = 0;

static int initialised = 0;
static int context_token = 0;
static int stream_token = 0;

CUresult cuInit(unsigned int flags) {
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    initialised = 1;
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version) { *version = 12040; return CUDA_SUCCESS; }

CUresult cuDeviceGetCount(int *count) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 7;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev) {
    if (dev != 7) return CUDA_ERROR_INVALID_DEVICE;
    strncpy(name, "Mock GPU", (size_t) len);
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev) {
    if (dev != 7) return CUDA_ERROR_INVALID_DEVICE;
    *bytes = (size_t) 80 << 30;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) {
    if (dev != 7) return CUDA_ERROR_INVALID_DEVICE;
    switch (attrib) {
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; return CUDA_SUCCESS;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; return CUDA_SUCCESS;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; return CUDA_SUCCESS;
        default: return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
    if (dev != 7) return CUDA_ERROR_INVALID_DEVICE;
    *pctx = (CUcontext) &context_token;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease(CUdevice dev) {
    return dev == 7 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
    return ctx == (CUcontext) &context_token ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult cuCtxSynchronize(void) { return CUDA_SUCCESS; }

CUresult cuMemGetInfo(size_t *free_bytes, size_t *total) {
    *free_bytes = (size_t) 70 << 30;
    *total = (size_t) 80 << 30;
    return CUDA_SUCCESS;
}

CUresult cuMemAlloc(CUdeviceptr *dptr, size_t bytesize) {
    if (bytesize > ((size_t) 1 << 32)) return CUDA_ERROR_OUT_OF_MEMORY;
    void *p = malloc(bytesize);
    if (p == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
    *dptr = (CUdeviceptr) p;
    return CUDA_SUCCESS;
}

CUresult cuMemFree(CUdeviceptr dptr) { free((void *) dptr); return CUDA_SUCCESS; }

CUresult cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t n) {
    memcpy((void *) dst, src, n);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t n) {
    memcpy(dst, (const void *) src, n);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t n) {
    memmove((void *) dst, (const void *) src, n);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t n, CUstream s) {
    if (s != (CUstream) &stream_token) return CUDA_ERROR_INVALID_HANDLE;
    return cuMemcpyHtoD(dst, src, n);
}

CUresult cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t n, CUstream s) {
    if (s != (CUstream) &stream_token) return CUDA_ERROR_INVALID_HANDLE;
    return cuMemcpyDtoH(dst, src, n);
}

CUresult cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
    if (s != (CUstream) &stream_token) return CUDA_ERROR_INVALID_HANDLE;
    return cuMemcpyDtoD(dst, src, n);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, CUstream s) {
    if (s != (CUstream) &stream_token) return CUDA_ERROR_INVALID_HANDLE;
    memset((void *) dst, value, n);
    return CUDA_SUCCESS;
}

CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int flags) {
    (void) flags;
    *pp = calloc(1, bytesize);
    return *pp == NULL ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_SUCCESS;
}

CUresult cuMemFreeHost(void *p) { free(p); return CUDA_SUCCESS; }

CUresult cuStreamCreate(CUstream *phStream, unsigned int flags) {
    if (flags > 1) return CUDA_ERROR_INVALID_VALUE;
    *phStream = (CUstream) &stream_token;
    return CUDA_SUCCESS;
}

CUresult cuStreamDestroy(CUstream s) {
    return s == (CUstream) &stream_token ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult cuStreamSynchronize(CUstream s) {
    return s == (CUstream) &stream_token ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* An event is the mock clock's reading when it was recorded. */
CUresult cuEventCreate(CUevent *ev, unsigned int flags) {
    (void) flags;
    int *clock_reading = calloc(1, sizeof *clock_reading);
    if (clock_reading == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
    *ev = (CUevent) clock_reading;
    return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent ev, CUstream s) {
    static int clock_ms = 0;
    if (s != (CUstream) &stream_token) return CUDA_ERROR_INVALID_HANDLE;
    clock_ms += 5;
    *(int *) ev = clock_ms;
    return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent ev) { (void) ev; return CUDA_SUCCESS; }

CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end) {
    *ms = (float) (*(int *) end - *(int *) start);
    return CUDA_SUCCESS;
}

CUresult cuEventDestroy(CUevent ev) { free(ev); return CUDA_SUCCESS; }

/* Accepts a fatbin (magic 0xBA55ED50); anything else has no code for this device. */
CUresult cuModuleLoadData(CUmodule *module, const void *image) {
    unsigned int magic;
    memcpy(&magic, image, sizeof magic);
    if (magic != 0xBA55ED50u) return CUDA_ERROR_NO_BINARY_FOR_GPU;
    *module = (CUmodule) &module_token;
    return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule m) { (void) m; return CUDA_SUCCESS; }

CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
    if (m != (CUmodule) &module_token) return CUDA_ERROR_INVALID_HANDLE;
    mock_kernel kernel = mock_kernel_lookup ? mock_kernel_lookup(name) : NULL;
    if (kernel == NULL) return CUDA_ERROR_NOT_FOUND;
    *f = (CUfunction) kernel;
    return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                        unsigned int bx, unsigned int by, unsigned int bz,
                        unsigned int shared, CUstream s, void **params, void **extra) {
    (void) gy; (void) gz; (void) by; (void) bz; (void) shared;
    if (s != (CUstream) &stream_token || extra != NULL || bx == 0 || gx == 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    /* The stream is in order and the host is the device: run the kernel now. */
    ((mock_kernel) f)(params, gx);
    return CUDA_SUCCESS;
}

CUresult cuStreamBeginCapture(CUstream s, CUstreamCaptureMode mode) {
    (void) s; (void) mode;
    return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult cuStreamEndCapture(CUstream s, CUgraph *g) {
    (void) s; (void) g;
    return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult cuGraphInstantiate(CUgraphExec *e, CUgraph g, unsigned long long flags) {
    (void) e; (void) g; (void) flags;
    return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult cuGraphLaunch(CUgraphExec e, CUstream s) {
    (void) e; (void) s;
    return CUDA_ERROR_NOT_SUPPORTED;
}
CUresult cuGraphExecDestroy(CUgraphExec e) { (void) e; return CUDA_SUCCESS; }
CUresult cuGraphDestroy(CUgraph g) { (void) g; return CUDA_SUCCESS; }

CUresult cuGetErrorName(CUresult error, const char **name) {
    switch (error) {
        case CUDA_SUCCESS: *name = "CUDA_SUCCESS"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return CUDA_SUCCESS;
        case CUDA_ERROR_OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_DEVICE: *name = "CUDA_ERROR_INVALID_DEVICE"; return CUDA_SUCCESS;
        case CUDA_ERROR_NO_BINARY_FOR_GPU:
            *name = "CUDA_ERROR_NO_BINARY_FOR_GPU"; return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_SUPPORTED: *name = "CUDA_ERROR_NOT_SUPPORTED"; return CUDA_SUCCESS;
        default: *name = NULL; return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult cuGetErrorString(CUresult error, const char **text) {
    switch (error) {
        case CUDA_ERROR_OUT_OF_MEMORY: *text = "out of memory"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_DEVICE: *text = "invalid device ordinal"; return CUDA_SUCCESS;
        case CUDA_ERROR_NO_BINARY_FOR_GPU:
            *text = "no kernel image is available for execution on the device";
            return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_SUPPORTED:
            *text = "operation not supported on this device"; return CUDA_SUCCESS;
        default: *text = "mock error"; return CUDA_SUCCESS;
    }
}
