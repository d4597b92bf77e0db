#!/usr/bin/env bash
# Builds the benchmarks and runs the kernel report (a short JMH configuration) on this machine.
# Usage: bench/run.sh [threads] [benchmark regex]   e.g. bench/run.sh 2 'GemmBenchmark'
# Any other JMH run: java <flags below> -cp "$cp" org.openjdk.jmh.Main -h
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/.ci/java-env"
cd "$root"
mvn -B -q -ntp -Dstyle.color=never -pl bench -am package -DskipTests >&2
cp="$(ls bench/target/lumbar-bench-*.jar | head -1):bench/target/lib/*"
args=("${1:-2}")
if [ $# -gt 1 ]; then
    args+=("dev.lumbar.bench.$2")
fi
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp "$cp" dev.lumbar.bench.KernelReport "${args[@]}" \
    2> >(grep -v -e '^WARNING: Using incubator modules' >&2)
