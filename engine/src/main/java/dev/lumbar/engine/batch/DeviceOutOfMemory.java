package dev.lumbar.engine.batch;

import dev.lumbar.bindings.CudaException;

/** Recognises a GPU running out of memory among the exceptions a backend throws. */
public final class DeviceOutOfMemory {

    private DeviceOutOfMemory() {
    }

    /**
     * True when {@code failure} or one of its causes is the device running out of memory: the
     * driver's {@code CUDA_ERROR_OUT_OF_MEMORY}, a cuBLAS or cuDNN allocation failure, or the
     * CUDA backend's own memory limit.
     */
    public static boolean is(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String text = t.getMessage() == null ? "" : t.getMessage();
            // the exception names the library's status: CUDA_ERROR_OUT_OF_MEMORY from the
            // driver, CUBLAS_STATUS_ALLOC_FAILED or CUDNN_STATUS_ALLOC_FAILED from the others
            if (t instanceof CudaException
                    && (text.contains("OUT_OF_MEMORY") || text.contains("_ALLOC_FAILED"))) {
                return true;
            }
            // LIMITATION: the CUDA backend's memory limit is recognised by the start of its
            // message ("device memory limit of"); a reworded message would be taken for an
            // ordinary failure and the study would fail instead of splitting or falling back.
            if (t instanceof IllegalStateException && text.startsWith("device memory limit of")) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }
}
