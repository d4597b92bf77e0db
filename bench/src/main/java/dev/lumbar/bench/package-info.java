/**
 * Benchmarks and machine checks, never run by the tests: JMH benchmarks of kernels and networks
 * with their ceilings (sgemm, a memory triad); whole-network forwards
 * ({@link dev.lumbar.bench.NetworkBench}) and their ONNX Runtime peer
 * ({@link dev.lumbar.bench.OrtBench}), which {@code bench/peers/compare.py} runs side by side
 * with PyTorch; and {@link dev.lumbar.bench.GpuCheck}, the stand-alone GPU-versus-CPU check that
 * {@code bench/gpu-check.sh} runs on a GPU machine; {@link dev.lumbar.bench.StudyBench}, the
 * whole pipeline on the demo study stage by stage, which {@code bench/study.sh} runs.
 *
 * <p>Invariants: nothing in the product depends on this package (no other module lists it),
 * and the build's tests never run a benchmark; inputs are synthetic, from fixed seeds, so two
 * runs measure the same work. Numbers are only comparable on the same machine and settings.
 *
 * <p>Every rate is reported next to a ceiling measured in the same run, because the machines
 * these run on are often shared: an absolute time alone says little. A whole-network run owns
 * its process so that the peak resident set it reports is that network's.
 */
package dev.lumbar.bench;
