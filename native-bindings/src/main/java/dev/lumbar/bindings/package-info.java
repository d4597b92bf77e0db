/**
 * Thin Foreign Function &amp; Memory bindings, one class per native library. Each class finds
 * its library at run time, builds its method handles once, and reports a missing library as an
 * empty {@link java.util.Optional} with one warning, never as an exception from a static
 * initialiser. A failed native call becomes an exception that names the call. These classes
 * know C signatures and memory segments, not tensors.
 */
package dev.lumbar.bindings;
