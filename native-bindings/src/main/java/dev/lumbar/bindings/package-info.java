/**
 * Thin, hand-written Foreign Function &amp; Memory bindings to the native libraries the engine may
 * use: the CUDA driver and runtime, cuBLAS, cuDNN, and the discovery that finds them.
 *
 * <p>One class per library. Each is created by a static {@code load} method that returns an
 * {@link java.util.Optional} (or a {@link dev.lumbar.bindings.NativeLibraries.Located} with a
 * reason) instead of throwing from a static initialiser, so a machine without a GPU simply
 * reports why and the engine stays on the CPU. Every call's status is checked: a failure becomes
 * a {@link dev.lumbar.bindings.CudaException} naming the call and the library's own error text.
 *
 * <p>The function descriptors are declared as constants ({@link
 * dev.lumbar.bindings.NativeFunction}) so that tests can compare every signature with an
 * independent statement of the C headers without loading any native code.
 *
 * <p>Handles (contexts, streams, descriptors) cross this package as {@code MemorySegment}
 * addresses; device memory as {@code long} device pointers. Nothing here knows about tensors.
 * Instances are thread-safe to call from one thread at a time per CUDA context, as the
 * libraries themselves are.
 */
package dev.lumbar.bindings;
