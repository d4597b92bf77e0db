/**
 * What networks compute with: the {@link dev.lumbar.engine.backend.Backend} interface (the
 * operations every model's forward is written in), its parameter types
 * ({@link dev.lumbar.engine.backend.Activation}, {@link dev.lumbar.engine.backend.Conv2dSpec})
 * and {@link dev.lumbar.engine.backend.Backends}, which opens one by name ({@code auto},
 * {@code cpu}, {@code cuda}, {@code cuda:N}). The implementations live in {@code .cpu} and
 * {@code .cuda}.
 *
 * <p>Invariants: activations are NCHW F32 on the backend's device; every operation returns a
 * new tensor that the caller owns and closes, and never modifies its inputs; a device tensor
 * is only passed to the backend that made it (by {@code upload} or an operation). Asking for
 * {@code cuda} without a usable GPU is an error that says why, never a silent CPU run; only
 * {@code auto} falls back to the CPU, and logs that it did.
 */
package dev.lumbar.engine.backend;
