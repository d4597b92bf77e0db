/**
 * Test support shared by the fuzz targets that live beside the readers they exercise.
 *
 * <p>Every target follows one contract: an input is either read, and then every value the reader
 * exposes can be touched without error, or refused with the reader's own checked exception that
 * names the file. Anything else (an unchecked exception, an error, a hang) is a finding.
 */
package dev.lumbar.engine.fuzz;
