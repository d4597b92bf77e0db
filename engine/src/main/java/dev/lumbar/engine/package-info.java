/**
 * Engine-wide helpers that every area shares. {@link dev.lumbar.engine.Redaction} is the one
 * place that decides what of a file name or a free-text DICOM value may be shown to a user: any
 * text built from DICOM data for a warning, an error or a report goes through it first.
 */
package dev.lumbar.engine;
