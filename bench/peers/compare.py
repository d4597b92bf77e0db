#!/usr/bin/python3
"""Side-by-side whole-network comparison: lumbar's CPU backend against ONNX Runtime (Java API)
and PyTorch eager, on the same random-weight timm encoders and the same inputs, in one sitting.

For every network (num_classes=0, pooled features) the script
  1. builds the model with the timm-following modules of weights/tools/make_backbone_fixtures.py,
     random weights and norm statistics (float32), counts its FLOPs with forward hooks (2 x MACs
     of every Conv2d and Linear), and writes <work>/<arch>.safetensors;
  2. per input shape, writes the input .npy and a static-shape ONNX file (torch.onnx.export);
  3. runs, each in its own process so the peak RSS (VmHWM) is that peer's alone:
       lumbar      dev.lumbar.bench.NetworkBench (CPU backend, --threads)
       ort         dev.lumbar.bench.OrtBench (CPU provider, ALL_OPT, intra-op --threads)
       torch       eager NCHW, as installed (this Debian torch; BLAS is whatever libblas.so.3
                   points to)
       torch-cl    eager, model and input channels-last, OMP_WAIT_POLICY=PASSIVE
       torch-jit   torch.jit.trace + torch.jit.freeze, channels-last, OMP_WAIT_POLICY=PASSIVE
       torch-refblas  (with --reference-blas) eager NCHW with the reference BLAS preloaded
     the two Java peers --rounds times (2 by default), alternating, a new process each time;
     each keeps its fastest round (a shared host has slow spells that can take a whole
     process);
  4. checks that every peer's output agrees with torch eager (relative L2 error) and prints one
     Markdown table: time (median), GFLOP/s, % of the OpenBLAS sgemm 2048^3 rate (the best
     median of those measured in the lumbar and ONNX Runtime processes of the sitting), peak
     RSS, and lumbar time / peer time (below 1: lumbar is faster).

Usage, from the repository root (builds the bench module first with bench/peers/run.sh):
  /usr/bin/python3 bench/peers/compare.py --work /tmp/lumbar-peers --runs 3
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'weights', 'tools'))

ARCHS = ['convnext_small', 'convnext_tiny', 'tf_efficientnetv2_s']
SHAPES = [(25, 3, 128, 128), (5, 3, 224, 224)]
TORCH_VARIANTS = ['torch', 'torch-cl', 'torch-jit']
REFERENCE_BLAS = '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3'
# the launcher's flags: the young generation capped, or the warm-up's garbage (vectors are
# objects until C2 compiles the kernels) grows it and the peak RSS with it
JAVA_FLAGS = ['--add-modules', 'jdk.incubator.vector', '--enable-native-access=ALL-UNNAMED',
              '-XX:-UseProfiledLoopPredicate', '-XX:+UseParallelGC', '-XX:MaxNewSize=64m']


def shape_tag(shape):
    return 'x'.join(str(d) for d in shape)


def build(arch, seed):
    import torch
    import make_backbone_fixtures as fixtures
    gen = torch.Generator().manual_seed(seed)
    model = fixtures.build(arch, 3, 0, {}).float().eval()
    fixtures.randomise(model, gen)
    return model, fixtures


def count_flops(model, x):
    """2 x multiply-accumulates of every Conv2d and Linear in one forward of x."""
    # LIMITATION: norms, activations, pooling and elementwise work are not counted, as in the
    # engine's count; the GFLOP/s are those of the arithmetic-heavy layers only.
    import torch.nn as nn
    total = [0.0]

    def conv_hook(module, inputs, output):
        k = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
        total[0] += 2.0 * output.numel() * k

    def linear_hook(module, inputs, output):
        total[0] += 2.0 * output.numel() * module.weight.shape[1]

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    model(x)
    for h in hooks:
        h.remove()
    return total[0]


def prepare(args):
    """Writes weights, inputs, ONNX files and the torch reference outputs; returns FLOP counts."""
    import torch
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    flops = {}
    for index, arch in enumerate(args.arch):
        model, fixtures = build(arch, 100 + index)
        entries = fixtures.export_weights(model, 'F32')
        model.float()
        fixtures.write_safetensors(os.path.join(args.work, arch + '.safetensors'), entries)
        for shape in args.shapes:
            tag = f'{arch}.{shape_tag(shape)}'
            gen = torch.Generator().manual_seed(7)
            x = torch.rand(shape, generator=gen) * 2 - 1
            np.save(os.path.join(args.work, tag + '.input.npy'), x.numpy())
            flops[tag] = count_flops(model, x[:1]) * shape[0]
            onnx_file = os.path.join(args.work, tag + '.onnx')
            torch.onnx.export(model, x, onnx_file, opset_version=13,
                              input_names=['images'], output_names=['features'])
            print(f'prepared {tag}: {flops[tag] / 1e9:.1f} GFLOP', file=sys.stderr, flush=True)
    # added to the counts of networks prepared by earlier sittings in the same folder, so
    # that --report-only still finds theirs
    flops_file = os.path.join(args.work, 'flops.json')
    known = {}
    if os.path.exists(flops_file):
        try:
            with open(flops_file) as f:
                known = json.load(f)
        except ValueError:
            print(f'warning: {flops_file} is not JSON; the counts of earlier sittings are '
                  'dropped', file=sys.stderr)
    known.update(flops)
    with open(flops_file, 'w') as f:
        json.dump(known, f)
    return flops


def torch_worker(args):
    """One torch variant on one network and shape, in this (fresh) process."""
    import torch
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    arch, shape = args.worker_arch, tuple(args.worker_shape)
    import make_backbone_fixtures as fixtures
    from safetensors_io import load_file
    model = fixtures.build(arch, 3, 0, {}).float().eval()
    state, _ = load_file(os.path.join(args.work, arch + '.safetensors'))
    model.load_state_dict(state)
    tag = f'{arch}.{shape_tag(shape)}'
    x = torch.from_numpy(np.load(os.path.join(args.work, tag + '.input.npy')))
    variant = args.worker_variant
    if variant in ('torch-cl', 'torch-jit'):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if variant == 'torch-jit':
        model = torch.jit.freeze(torch.jit.trace(model, x))
    start = time.perf_counter()
    output = model(x)  # the first call also optimises a frozen graph
    first = time.perf_counter() - start
    np.save(os.path.join(args.work, f'{tag}.{variant}.out.npy'), output.contiguous().numpy())
    runs = args.runs
    if first > args.slow:
        # keeps the sitting within its time budget; the table shows the number of runs
        runs = 1
    else:
        for _ in range(args.warmup - 1):
            model(x)
    seconds = []
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    timed_start = time.perf_counter()
    for _ in range(runs):
        start = time.perf_counter()
        model(x)
        seconds.append(time.perf_counter() - start)
    timed = time.perf_counter() - timed_start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open('/proc/self/status') as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))
    # the same figures as the Java peers' ProcessUsage: CPU time of all threads over the wall
    # time, and context switches per forward (getrusage counts them for the whole process)
    cpu = (usage.ru_utime + usage.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    result = dict(peer=variant, seconds=seconds, median_s=float(np.median(seconds)),
                  peak_rss_mib=hwm / 1024.0, load_average=os.getloadavg()[0],
                  cores_busy=cpu / timed,
                  voluntary_switches_per_forward=(usage.ru_nvcsw - usage_before.ru_nvcsw)
                  / runs,
                  involuntary_switches_per_forward=(usage.ru_nivcsw - usage_before.ru_nivcsw)
                  / runs,
                  torch=torch.__version__)
    with open(os.path.join(args.work, f'{tag}.{variant}.json'), 'w') as f:
        json.dump(result, f)
    print(f'{variant} {tag}: median {result["median_s"]:.3f} s over {runs} runs '
          f'(first call {first:.1f} s), peak RSS {result["peak_rss_mib"]:.0f} MiB, '
          f'load {result["load_average"]:.2f}, {result["cores_busy"]:.2f} cores busy')


def run(command, env=None):
    started = time.time()
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f'failed ({done.returncode}): {" ".join(command[:6])} ...')
    lines = [l for l in done.stdout.splitlines() if l.strip()]
    print(f'  {time.time() - started:5.0f} s  {lines[-1] if lines else ""}', file=sys.stderr,
          flush=True)


def keep_fastest_round(base, peer, rounds):
    """Copies the round with the lowest median to the peer's result and output files; the
    result records every round's median."""
    results = []
    for r in range(rounds):
        with open(f'{base}.{peer}.round{r + 1}.json') as f:
            results.append(json.load(f))
    best = min(range(rounds), key=lambda r: results[r]['median_s'])
    kept = dict(results[best], round_medians_s=[r['median_s'] for r in results])
    with open(f'{base}.{peer}.json', 'w') as f:
        json.dump(kept, f)
    shutil.copyfile(f'{base}.{peer}.round{best + 1}.out.npy', f'{base}.{peer}.out.npy')


def java_command(args, main_class, options):
    java = os.path.join(os.environ.get('JAVA_HOME', '/usr/lib/jvm/temurin-25-jdk-amd64'),
                        'bin', 'java')
    classpath = os.path.join(ROOT, 'bench', 'target', 'lumbar-bench-0.1.0-SNAPSHOT.jar') \
        + os.pathsep + os.path.join(ROOT, 'bench', 'target', 'lib', '*')
    return [java, *JAVA_FLAGS, '-Xmx' + args.heap, '-cp', classpath, main_class, *options]


def measure(args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    variants = TORCH_VARIANTS + (['torch-refblas'] if args.reference_blas else [])
    timing = ['--threads', str(args.threads), '--warmup', str(args.warmup),
              '--runs', str(args.runs)]
    # how this sitting timed its peers, for the table's header when it is reprinted
    sitting = dict(runs=args.runs, warmup=args.warmup, threads=args.threads,
                   java_rounds=args.rounds)
    for arch in args.arch:
        for shape in args.shapes:
            tag = f'{arch}.{shape_tag(shape)}'
            base = os.path.join(args.work, tag)
            with open(base + '.sitting.json', 'w') as f:
                json.dump(sitting, f)
            print(f'{tag}:', file=sys.stderr, flush=True)
            # the two Java peers alternate, round by round, each in a process of its own: on
            # a shared host a whole process can fall in a slow spell (whole runs of forwards
            # 30-50 % slower for some seconds), and each peer keeps its faster round
            for r in range(args.rounds):
                suffix = '' if args.rounds == 1 else f'.round{r + 1}'
                run(java_command(args, 'dev.lumbar.bench.NetworkBench', [
                    '--arch', arch, '--batch', str(shape[0]), '--size', str(shape[2]),
                    '--weights', os.path.join(args.work, arch + '.safetensors'),
                    '--input', base + '.input.npy',
                    '--output', base + f'.lumbar{suffix}.out.npy',
                    '--json', base + f'.lumbar{suffix}.json', *timing]), env)
                run(java_command(args, 'dev.lumbar.bench.OrtBench', [
                    '--model', base + '.onnx', '--input', base + '.input.npy',
                    '--output', base + f'.ort{suffix}.out.npy',
                    '--json', base + f'.ort{suffix}.json', *timing]), env)
            if args.rounds > 1:
                for peer in ('lumbar', 'ort'):
                    keep_fastest_round(base, peer, args.rounds)
            for variant in variants:
                worker_env = env
                worker_variant = variant
                if variant in ('torch-cl', 'torch-jit'):
                    # GNU OpenMP's spinning workers lose whole time slices on a shared machine
                    worker_env = dict(env, OMP_WAIT_POLICY='PASSIVE')
                if variant == 'torch-refblas':
                    worker_env = dict(env, LD_PRELOAD=REFERENCE_BLAS)
                run([sys.executable, os.path.abspath(__file__), '--work', args.work,
                     '--threads', str(args.threads), '--warmup', str(args.warmup),
                     '--runs', str(args.runs), '--slow', str(args.slow), '--worker-arch', arch,
                     '--worker-shape', *map(str, shape), '--worker-variant', worker_variant],
                    worker_env)


def relative_error(a, b):
    a = a.astype(np.float64).reshape(-1)
    b = b.astype(np.float64).reshape(-1)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def report(args):
    with open(os.path.join(args.work, 'flops.json')) as f:
        flops = json.load(f)
    peers = ['lumbar', 'ort'] + TORCH_VARIANTS + (['torch-refblas'] if args.reference_blas
                                                  else [])
    results, sgemm_rates, sittings, missing = {}, [], set(), []
    for arch in args.arch:
        for shape in args.shapes:
            tag = f'{arch}.{shape_tag(shape)}'
            sitting_file = os.path.join(args.work, tag + '.sitting.json')
            if os.path.exists(sitting_file):
                with open(sitting_file) as f:
                    sitting = json.load(f)
                sittings.add((sitting['runs'], sitting['warmup'], sitting['threads'],
                              sitting.get('java_rounds', 1)))
            if not os.path.exists(os.path.join(args.work, f'{tag}.lumbar.json')) \
                    or tag not in flops:
                missing.append(tag)
                continue
            for peer in peers:
                json_file = os.path.join(args.work, f'{tag}.{peer}.json')
                if os.path.exists(json_file):
                    with open(json_file) as f:
                        results[tag, peer] = json.load(f)
                    if 'sgemm_gflops_per_s' in results[tag, peer]:
                        sgemm_rates.append(results[tag, peer]['sgemm_gflops_per_s'])
    for tag in missing:
        print(f'no results for {tag} in {args.work}: left out', file=sys.stderr)
    if not sgemm_rates:
        raise SystemExit(f'no results to report in {args.work}')
    # the machine's ceiling: the least disturbed of the sgemm measurements of the sittings
    # whose results are shown
    sgemm = max(sgemm_rates)

    rows, worst = [], 0.0
    for arch in args.arch:
        for shape in args.shapes:
            tag = f'{arch}.{shape_tag(shape)}'
            if tag in missing:
                continue
            base = os.path.join(args.work, tag)
            engine = results[tag, 'lumbar']
            # LIMITATION: the reference is torch eager in float32, not a float64 forward; the
            # errors show agreement between implementations, not distance from exact values.
            reference = np.load(base + '.torch.out.npy')
            gflop = engine['gflop']
            if abs(gflop * 1e9 - flops[tag]) > 0.01 * flops[tag]:
                print(f'warning: {tag}: engine counts {gflop:.2f} GFLOP, torch hooks '
                      f'{flops[tag] / 1e9:.2f}', file=sys.stderr)
            for peer in peers:
                result = results.get((tag, peer))
                if result is None:
                    continue
                error = relative_error(np.load(base + f'.{peer}.out.npy'), reference)
                if peer != 'torch':
                    worst = max(worst, error)
                rate = gflop / result['median_s']
                spread = f"{min(result['seconds']):.2f}-{max(result['seconds']):.2f}"
                spread += f" ({len(result['seconds'])})"
                if len(result.get('round_medians_s', [])) > 1:
                    spread += ' of ' + '/'.join(f'{m:.2f}' for m in result['round_medians_s'])
                # (absent from results written before the column existed)
                cores = result.get('cores_busy')
                rows.append((arch, shape_tag(shape), peer, result['median_s'], spread, rate,
                             100 * rate / sgemm, result['peak_rss_mib'],
                             engine['median_s'] / result['median_s'], error,
                             result['load_average'],
                             '?' if cores is None else f'{cores:.2f}'))
    # (results written before sittings recorded how they timed have no record)
    timing = '; '.join(f'{runs} timed runs after {warmup} warm-up, {threads} threads'
                       + ('' if rounds == 1 else f', the Java peers the faster of {rounds} '
                          'alternating processes (min-max: "of" the medians of each)')
                       for runs, warmup, threads, rounds in sorted(sittings)) \
        or 'warm-ups not recorded (the runs column shows the timed runs)'

    print(f'{timing}; % sgemm: of {sgemm:.0f} GFLOP/s, the best of {len(sgemm_rates)} '
          f'OpenBLAS sgemm 2048^3 medians measured in the Java processes of the sittings shown '
          f'(lowest {min(sgemm_rates):.0f}); lumbar/peer above 1: the peer is faster; cores '
          f'busy: CPU time of all the process\'s threads over the wall time of the timed runs')
    print('| network | input | peer | median s | min-max s (runs) | GFLOP/s | % sgemm '
          '| peak RSS MiB | lumbar/peer | rel. err vs torch | load | cores busy |')
    print('|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|')
    for r in rows:
        print(f'| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} | {r[4]} | {r[5]:.1f} | {r[6]:.0f}% '
              f'| {r[7]:.0f} | {r[8]:.2f} | {r[9]:.1e} | {float(r[10]):.1f} | {r[11]} |')
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work', default='/tmp/lumbar-peers', help='scratch folder')
    parser.add_argument('--arch', nargs='+', default=ARCHS, choices=ARCHS)
    parser.add_argument('--shape', nargs='+', default=[shape_tag(s) for s in SHAPES],
                        help='input shapes N x 3 x S x S, e.g. 25x3x128x128')
    parser.add_argument('--threads', type=int, default=2)
    # the engine's JIT compiles until about the 20th-25th forward of tf_efficientnetv2_s at
    # both shapes (kernels called only a few times a forward compile last, each compile taking
    # one of the two cores for a while); fewer warm-ups time its compilation, not its kernels
    parser.add_argument('--warmup', type=int, default=30)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=2,
                        help='processes per Java peer and shape, alternating; each keeps '
                             'its fastest')
    parser.add_argument('--slow', type=float, default=30.0,
                        help='a torch variant whose first forward takes longer gets one run')
    # the engine's tensors live off the heap: 1 GiB holds the packed weights it keeps (a
    # quarter of the heap; convnext_small needs about 200 MB) and the warm-up's garbage. A
    # larger heap only let the collector grow it further: 3g peaked 190-350 MiB higher at
    # the same speed.
    parser.add_argument('--heap', default='1g', help='-Xmx of the Java peers')
    parser.add_argument('--reference-blas', action='store_true',
                        help='also time torch eager with the reference BLAS preloaded')
    parser.add_argument('--report-only', action='store_true',
                        help='print the table from an earlier run in --work')
    parser.add_argument('--worker-arch', help=argparse.SUPPRESS)
    parser.add_argument('--worker-shape', type=int, nargs=4, help=argparse.SUPPRESS)
    parser.add_argument('--worker-variant', help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.warmup = max(1, args.warmup)
    args.shapes = [tuple(int(d) for d in tag.split('x')) for tag in args.shape]
    if args.worker_variant:
        torch_worker(args)
        return 0
    os.makedirs(args.work, exist_ok=True)
    if not args.report_only:
        print(f'load average before: {os.getloadavg()}', file=sys.stderr)
        prepare(args)
        measure(args)
        print(f'load average after: {os.getloadavg()}', file=sys.stderr)
    worst = report(args)
    print(f'worst relative error against torch eager: {worst:.2e}')
    return 0 if worst <= 1e-3 else 1


if __name__ == '__main__':
    sys.exit(main())
