#!/usr/bin/env bash
# Builds the benchmarks, then runs the side-by-side comparison (bench/peers/compare.py) with
# Debian's /usr/bin/python3 (torch, numpy). Arguments go to compare.py, e.g. --runs 3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/.ci/java-env"
cd "$root"
mvn -B -q -ntp -Dstyle.color=never -pl bench -am package -DskipTests >&2
exec /usr/bin/python3 bench/peers/compare.py "$@"
