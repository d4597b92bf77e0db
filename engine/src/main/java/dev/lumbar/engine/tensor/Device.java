package dev.lumbar.engine.tensor;

/**
 * Where a tensor's bytes live. A CPU tensor's segment can be read by Java; a CUDA tensor's
 * segment holds a device address and must never be dereferenced on the host.
 */
public record Device(Kind kind, int ordinal) {

    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public static Device cuda(int ordinal) {
        return new Device(Kind.CUDA, ordinal);
    }

    public boolean isCpu() {
        return kind == Kind.CPU;
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + ordinal;
    }
}
