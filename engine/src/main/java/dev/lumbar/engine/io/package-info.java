/**
 * Reading and writing the files the engine exchanges with the outside: JSON (model cards,
 * manifests, reports), safetensors (weights), npy (test fixtures, debug dumps) and the lines of
 * Kaggle's CSV files.
 *
 * <p>Everything here treats its input as untrusted: lengths and offsets are checked against the
 * file and against fixed limits before anything is allocated or mapped, and a malformed file
 * ends in a typed exception whose message names the file and the offending entry, never in a
 * JVM crash or an unbounded allocation.
 *
 * <p>Ownership: a {@link dev.lumbar.engine.io.Safetensors} file owns the arena of its memory
 * mapping; the tensors {@code view} returns borrow from it and must not be used after the file
 * is closed (a closed mapping fails with {@link IllegalStateException}, not a crash). Tensors
 * returned by {@code f32} and by {@link dev.lumbar.engine.io.Npy#read} own their memory. A
 * view is only as aligned as the file lays it out (the data area starts 8-aligned in files this
 * package writes, at any byte in others); {@code f32} copies are {@code Tensor.ALIGNMENT}-aligned.
 *
 * <p>Byte order is little-endian throughout. Files written here are replaced atomically: a
 * temporary file in the same folder is renamed over the target.
 */
package dev.lumbar.engine.io;
