package dev.lumbar.bindings;

import java.util.List;

/**
 * The native libraries the engine can use, with the file names to look for (newest first) and
 * the environment variable that names one explicitly (a file or a folder).
 */
public enum Library {
    CUDA_DRIVER("CUDA driver", null, true, "libcuda.so.1", "libcuda.so"),
    CUDA_RUNTIME("CUDA runtime", null, true,
            "libcudart.so.13", "libcudart.so.12", "libcudart.so"),
    CUBLAS("cuBLAS", "LUMBAR_CUBLAS", true,
            "libcublas.so.13", "libcublas.so.12", "libcublas.so"),
    CUBLAS_LT("cuBLASLt", "LUMBAR_CUBLAS", true,
            "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"),
    CUDNN("cuDNN", "LUMBAR_CUDNN", true, "libcudnn.so.9", "libcudnn.so"),
    OPENBLAS("OpenBLAS", "LUMBAR_OPENBLAS", false,
            "libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0");

    private final String displayName;
    private final String overrideVariable;
    private final boolean partOfCuda;
    private final List<String> fileNames;

    Library(String displayName, String overrideVariable, boolean partOfCuda,
            String... fileNames) {
        this.displayName = displayName;
        this.overrideVariable = overrideVariable;
        this.partOfCuda = partOfCuda;
        this.fileNames = List.of(fileNames);
    }

    public String displayName() {
        return displayName;
    }

    /** The variable naming this library's file or folder, or null when there is none. */
    public String overrideVariable() {
        return overrideVariable;
    }

    /** Whether {@code LUMBAR_CUDA_LIB_DIR} and Python's {@code nvidia/*\/lib} are searched. */
    public boolean partOfCuda() {
        return partOfCuda;
    }

    /** File names to look for, preferred first. */
    public List<String> fileNames() {
        return fileNames;
    }
}
