/**
 * Benchmarks and machine checks: JMH benchmarks of kernels and networks, and
 * {@link dev.lumbar.bench.GpuCheck}, the stand-alone GPU-versus-CPU check that
 * {@code bench/gpu-check.sh} runs on a GPU machine.
 */
package dev.lumbar.bench;
