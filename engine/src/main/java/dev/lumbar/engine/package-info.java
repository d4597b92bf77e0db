/**
 * Engine-wide settings that every package consults: the {@link dev.lumbar.engine.Limits} on input
 * sizes, nesting and memory. Subpackages hold the readers, tensors, backends and models.
 */
package dev.lumbar.engine;
