package dev.lumbar.engine.tensor;

/** Element types the engine stores. Compute is F32; F16 and BF16 are storage types for weights. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The name safetensors and numpy-style headers use, e.g. {@code F32}. */
    public String safetensorsName() {
        return name();
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }
}
