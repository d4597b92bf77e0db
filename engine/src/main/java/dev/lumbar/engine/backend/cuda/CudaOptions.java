package dev.lumbar.engine.backend.cuda;

/**
 * How the CUDA backend computes.
 *
 * @param deviceOrdinal     which GPU ({@code cuda:0} is 0)
 * @param precision         the arithmetic of convolutions and matrix products
 * @param deterministic     only algorithms that give bit-identical results run to run
 * @param memoryLimitBytes  the most device memory the backend holds; 0 for 90% of what is free
 *                          when it starts
 */
public record CudaOptions(int deviceOrdinal, Precision precision, boolean deterministic,
        long memoryLimitBytes) {

    /** Arithmetic of convolutions and GEMMs; everything else is F32 in every mode. */
    public enum Precision {
        /** F32 storage and F32 FMA arithmetic; TF32 tensor cores off (matches the CPU). */
        F32,
        /** F32 storage, TF32 tensor-core arithmetic: faster, about 1e-3 relative error. */
        TF32,
        /** F16 operands with F32 accumulation and F32 results. */
        F16,
        /** BF16 operands with F32 accumulation and F32 results. */
        BF16
    }

    public CudaOptions {
        if (deviceOrdinal < 0 || memoryLimitBytes < 0 || precision == null) {
            throw new IllegalArgumentException("invalid CUDA options: " + deviceOrdinal + ", "
                    + precision + ", limit " + memoryLimitBytes);
        }
    }

    /** GPU 0, F32 without TF32, deterministic, 90% of free memory. */
    public static CudaOptions defaults() {
        return new CudaOptions(0, Precision.F32, true, 0);
    }

    public CudaOptions withPrecision(Precision newPrecision) {
        return new CudaOptions(deviceOrdinal, newPrecision, deterministic, memoryLimitBytes);
    }
}
