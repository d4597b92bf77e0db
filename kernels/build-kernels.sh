#!/usr/bin/env bash
# Compiles src/main/cuda into one fatbin (sm_90 SASS + compute_90 PTX for newer chips) and
# places it where the jar picks it up as the resource dev/lumbar/kernels/lumbar_kernels.fatbin.
# Without nvcc it says so and succeeds: the CPU path needs no kernels, and the CUDA backend
# then reports "kernels not built".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/src/main/cuda"
out_dir="${1:-$here/target/classes}/dev/lumbar/kernels"
out="$out_dir/lumbar_kernels.fatbin"

nvcc_bin="${NVCC:-}"
if [ -z "$nvcc_bin" ]; then
    for candidate in nvcc /usr/local/cuda/bin/nvcc; do
        if command -v "$candidate" >/dev/null 2>&1; then
            nvcc_bin="$(command -v "$candidate")"
            break
        fi
    done
fi
if [ -z "$nvcc_bin" ]; then
    echo "lumbar kernels: nvcc not found (set NVCC or install the CUDA toolkit);" \
        "skipping the CUDA kernels, the CUDA backend will report 'kernels not built'."
    exit 0
fi

if [ -f "$out" ] && [ -z "$(find "$src" -newer "$out" -print -quit)" ]; then
    exit 0
fi

mkdir -p "$out_dir"
# -no-compress keeps kernel names readable in the fatbin, which the build's tests check.
"$nvcc_bin" -fatbin -O3 -std=c++17 -no-compress \
    -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 \
    -o "$out.tmp" "$src/lumbar_kernels.cu"
mv "$out.tmp" "$out"
echo "lumbar kernels: built $(basename "$out") ($(stat -c %s "$out") bytes) with $nvcc_bin"
