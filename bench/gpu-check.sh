#!/usr/bin/env bash
# The GPU check in two halves (see bench/README-gpu.md):
#   bench/gpu-check.sh pack   on a machine with JDK 25 and Maven: builds the jars, jlinks a
#                             Java 25 runtime and puts both into gpu-pack/ (git-ignored)
#   bench/gpu-check.sh run    on the GPU machine (no JDK, no network needed): runs
#                             `lumbar doctor`, the GPU-vs-CPU comparisons and the demo study
#                             on both backends from gpu-pack/
#   bench/gpu-check.sh all    both, on a machine that has a JDK and a GPU (also what no argument
#                             does)
# The run half finds cuDNN and cuBLAS in a PyTorch environment's site-packages/nvidia/*/lib by
# itself; LUMBAR_CUDNN, LUMBAR_CUBLAS or LUMBAR_CUDA_LIB_DIR override. Optional arguments after
# `run`: seed and timed repetitions per operation.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -x "$script_dir/runtime/bin/java" ]; then
    pack="$script_dir"                  # running the copy inside the pack
    root="$(dirname "$script_dir")"
else
    root="$(dirname "$script_dir")"
    pack="$root/gpu-pack"
fi
# The whole run must stay under 8 minutes; the comparisons get this much of it.
run_limit_s="${LUMBAR_GPU_CHECK_LIMIT_S:-450}"

pack() {
    source "$root/.ci/java-env"
    echo "gpu-check: building jars" >&2
    (cd "$root" && mvn -B -q -ntp -Dstyle.color=never -DskipTests package -pl cli,bench -am >&2)
    rm -rf "$pack"
    mkdir -p "$pack/lib"
    # The CLI and the bench share most dependencies: copy each jar once. Only the jars the
    # check runs on travel: the JMH and ONNX Runtime jars (the benchmarks' and the peer
    # comparison's, ONNX Runtime alone about 90 MB) would break the 64 MiB cap, and the
    # ImageIO plug-ins only work with java.desktop (LUMBAR_PACK_MODULES).
    local jar name
    for jar in "$root/cli/target/lumbar-cli.jar" "$root"/cli/target/lib/*.jar \
            "$root"/bench/target/lumbar-bench-*.jar "$root"/bench/target/lib/*.jar; do
        name="$(basename "$jar")"
        case "$name" in
            lumbar-*|picocli-*) ;;
            *imageio*|common-*) [[ "${LUMBAR_PACK_MODULES:-}" == *java.desktop* ]] || continue ;;
            *) continue ;;
        esac
        [ -e "$pack/lib/$name" ] || cp "$jar" "$pack/lib/"
    done
    # The GPU check and `lumbar doctor` need only these; add java.desktop (ImageIO, for
    # compressed DICOM) through LUMBAR_PACK_MODULES to run whole studies from the pack. The
    # default keeps the pack well under 64 MiB.
    local modules="java.base,java.logging,jdk.incubator.vector"
    modules+="${LUMBAR_PACK_MODULES:+,$LUMBAR_PACK_MODULES}"
    echo "gpu-check: linking a Java runtime with $modules" >&2
    "$JAVA_HOME/bin/jlink" --add-modules "$modules" \
        --strip-debug --no-man-pages --no-header-files --compress=zip-9 \
        --output "$pack/runtime"
    # The demo study and its untrained ensemble (about 10 MB), graded on both backends.
    mkdir -p "$pack/weights"
    cp -r "$root/weights/demo" "$pack/weights/demo"
    cp "$root/weights/train_label_counts.csv" "$pack/weights/"
    cp "$script_dir/gpu-check.sh" "$pack/gpu-check.sh"
    chmod +x "$pack/gpu-check.sh"
    local bytes
    bytes="$(du -sb "$pack" | cut -f1)"
    echo "gpu-check: packed $((bytes / 1048576)) MiB into $pack" >&2
    if [ "$bytes" -gt $((60 * 1048576)) ]; then
        echo "gpu-check: the pack exceeds 60 MiB; it must travel under a 64 MiB cap" >&2
        exit 1
    fi
}

# Points the engine at a PyTorch environment's cuDNN and cuBLAS when nothing else does.
find_python_cuda_libs() {
    local python
    for python in python3 python; do
        command -v "$python" >/dev/null 2>&1 || continue
        local dirs
        dirs="$("$python" - <<'PY' 2>/dev/null || true
import importlib
for name in ("nvidia.cudnn", "nvidia.cublas"):
    try:
        module = importlib.import_module(name)
        print(name.split(".")[1], list(module.__path__)[0] + "/lib")
    except Exception:
        pass
PY
)"
        while read -r lib dir; do
            [ -n "${lib:-}" ] || continue
            case "$lib" in
                cudnn) export LUMBAR_CUDNN="${LUMBAR_CUDNN:-$dir}" ;;
                cublas) export LUMBAR_CUBLAS="${LUMBAR_CUBLAS:-$dir}" ;;
            esac
        done <<< "$dirs"
        return 0
    done
}

run() {
    if [ ! -x "$pack/runtime/bin/java" ]; then
        echo "gpu-check: no pack at $pack; run 'bench/gpu-check.sh pack' first" >&2
        exit 2
    fi
    find_python_cuda_libs
    local java=("$pack/runtime/bin/java" --add-modules jdk.incubator.vector
        --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate -Xss4m
        -Dlumbar.demo.dir="$pack/weights/demo"
        -cp "$pack/lib/*")
    echo "== lumbar doctor"
    "${java[@]}" dev.lumbar.cli.Main doctor 2> >(grep -v 'incubator modules' >&2)
    echo "== GPU vs CPU"
    local status=0
    timeout "$run_limit_s" "${java[@]}" dev.lumbar.bench.GpuCheck "$@" \
        2> >(grep -v 'incubator modules' >&2) || status=$?
    if [ "$status" = 124 ]; then
        echo "gpu-check: stopped after ${run_limit_s}s" >&2
    fi
    return "$status"
}

case "${1:-all}" in
    pack) pack ;;
    run) shift; run "$@" ;;
    all) shift || true; pack; run "$@" ;;
    *) echo "usage: $0 pack | run [seed [repetitions]] | all" >&2; exit 2 ;;
esac
