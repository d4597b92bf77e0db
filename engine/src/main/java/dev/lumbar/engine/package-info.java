/**
 * Engine-wide helpers that every area shares. {@link dev.lumbar.engine.Redaction} is the one
 * place that decides what of a file name or a free-text DICOM value may be shown to a user: any
 * text built from DICOM data for a warning, an error or a report goes through it first.
 * {@link dev.lumbar.engine.Limits} holds every bound on input sizes, nesting and memory.
 */
package dev.lumbar.engine;
