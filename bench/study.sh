#!/usr/bin/env bash
# Builds the benchmarks and runs the whole pipeline on the demo study several times in one JVM,
# printing a per-stage table (cold run, then median/min/max of the others) and peak RSS.
# Usage: bench/study.sh [runs] [threads] [studies folder] [ensemble manifest] [device]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/.ci/java-env"
cd "$root"
mvn -B -q -ntp -Dstyle.color=never -pl bench -am package -DskipTests >&2
cp="$(ls bench/target/lumbar-bench-*.jar | head -1):bench/target/lib/*"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -XX:-UseProfiledLoopPredicate -XX:+UseParallelGC -XX:MaxNewSize=64m -Xmx4g -cp "$cp" \
    dev.lumbar.bench.StudyBench "$@" \
    2> >(grep -v -e '^WARNING: Using incubator modules' >&2)
