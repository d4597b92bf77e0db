/**
 * Thin, hand-written Foreign Function &amp; Memory bindings, one class per native library: the
 * CUDA driver and runtime, cuBLAS, cuDNN, OpenBLAS, and the discovery that finds them.
 *
 * <p>Each class finds its library at run time, builds its method handles once, and reports a
 * missing library as an empty result with the reason ({@link java.util.Optional}, or
 * {@link dev.lumbar.bindings.Loaded} for the CUDA libraries), never as an exception from a
 * static initialiser, so a machine without a GPU says why and the engine stays on the CPU.
 * Every call's status is checked: a failure becomes an exception naming the call and the
 * library's own error text ({@link dev.lumbar.bindings.CudaException} for CUDA).
 *
 * <p>The CUDA function descriptors are declared as constants ({@link
 * dev.lumbar.bindings.NativeFunction}) so that tests compare every signature with an
 * independent statement of the C headers without loading native code.
 *
 * <p>Handles (contexts, streams, descriptors) cross this package as {@code MemorySegment}
 * addresses; CUDA device memory as {@code long} device addresses. These classes know C
 * signatures and memory segments, not tensors. CUDA objects may be called from one thread at
 * a time per context, as the libraries themselves allow.
 */
package dev.lumbar.bindings;
