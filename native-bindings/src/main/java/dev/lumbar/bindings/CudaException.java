package dev.lumbar.bindings;

/**
 * A failed call into a CUDA library: names the call, the numeric status and the library's own
 * name and description of it (e.g. {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2):
 * out of memory}).
 */
public final class CudaException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int status;

    public CudaException(String call, int status, String statusName, String description) {
        super(call + " failed: " + statusName + " (" + status + ")"
                + (description == null || description.isEmpty() ? "" : ": " + description));
        this.call = call;
        this.status = status;
    }

    /** A failure that is not a native status, e.g. a native call that itself threw. */
    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.call = "";
        this.status = -1;
    }

    /** The native function that failed. */
    public String call() {
        return call;
    }

    /** The library's status code ({@code CUresult}, {@code cublasStatus_t}, ...). */
    public int status() {
        return status;
    }
}
