/**
 * Benchmarks and machine checks: JMH benchmarks of kernels and networks, and
 * {@link dev.lumbar.bench.GpuCheck}, the stand-alone GPU-versus-CPU check that
 * {@code bench/gpu-check.sh} runs on a GPU machine.
 *
 * <p>Invariants: nothing in the product depends on this package (no other module lists it),
 * and the build's tests never run a benchmark; inputs are synthetic, from fixed seeds, so two
 * runs measure the same work. Numbers are only comparable on the same machine and settings.
 */
package dev.lumbar.bench;
