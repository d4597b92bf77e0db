/**
 * Running many studies unattended: a time limit per study, failures kept to the study that
 * caused them, device out-of-memory recovery, and several studies at once on one set of loaded
 * networks.
 *
 * <p>{@link dev.lumbar.engine.batch.BatchRunner} runs jobs on a fixed set of study threads and
 * hands their outcomes to the caller in input order, on the caller's thread, so outputs written
 * from there are identical whatever the number of workers. A job is stopped cooperatively: the
 * {@link dev.lumbar.engine.batch.DeadlineBackend} checks the running thread's
 * {@link dev.lumbar.engine.batch.StudyDeadline} before every operation, so a study past its limit
 * unwinds through its own try-with-resources blocks and frees its tensors; no backend operation
 * is cut short, so the CPU backend's worker pool is never left mid-loop.
 *
 * <p>Thread safety: networks are loaded once, before any study, and only read afterwards. On a
 * GPU the network calls of concurrent studies take turns through one lock
 * ({@link dev.lumbar.engine.batch.ResilientNetworks}); reading and cutting bags stay parallel.
 */
package dev.lumbar.engine.batch;
