#!/usr/bin/env bash
# Builds the benchmarks and times whole-network forwards on the CPU backend, one JVM per network
# so that each peak RSS is that network's own. Extra arguments go to every run (e.g. --profile,
# --runs 3, --threads 1); --arch NAME times that network alone (both shapes). --json FILE writes
# one file per network and shape beside FILE, FILE's name with .ARCH.NxCxHxW before .json.
# Usage: bench/network.sh [--arch NAME] [--json FILE] [NetworkBench options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/.ci/java-env"
cd "$root"
archs=(convnext_small convnext_tiny tf_efficientnetv2_s)
options=()
json=""
while [ $# -gt 0 ]; do
    if [ "$1" = "--arch" ] && [ $# -gt 1 ]; then
        archs=("$2")
        shift 2
    elif [ "$1" = "--json" ] && [ $# -gt 1 ]; then
        # one JVM per network and shape: a single file would keep only the last one's figures
        json="$2"
        shift 2
    else
        options+=("$1")
        shift
    fi
done
mvn -B -q -ntp -Dstyle.color=never -pl bench -am package -DskipTests >&2
cp="$(ls bench/target/lumbar-bench-*.jar | head -1):bench/target/lib/*"
for arch in "${archs[@]}"; do
    for shape in "25 128" "5 224"; do
        read -r batch size <<< "$shape"
        json_option=()
        if [ -n "$json" ]; then
            json_option=(--json "${json%.json}.$arch.${batch}x3x${size}x${size}.json")
        fi
        "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector \
            --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
            -XX:+UseParallelGC -XX:MaxNewSize=64m -Xmx1g -cp "$cp" \
            dev.lumbar.bench.NetworkBench \
            --arch "$arch" --batch "$batch" --size "$size" ${options[@]+"${options[@]}"} \
            ${json_option[@]+"${json_option[@]}"} \
            2> >(grep -v -e '^WARNING: Using incubator modules' >&2)
    done
done
