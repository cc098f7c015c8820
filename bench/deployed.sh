#!/usr/bin/env bash
# The deployed shapes of issue 17 (DeployedShapesBench), each run in a fresh JVM, the runs interleaved
# round by round, then the medians (DeployedSummary). Run from the repository root after
#   mvn -B -q -Paeron-cluster -pl bench -am package -DskipTests
# Usage: bench/deployed.sh ROUNDS OUTDIR [LABEL:SETTINGS ...]
#   each LABEL:SETTINGS is one run per round, SETTINGS the bench's key=value settings separated by spaces,
#   default: "aeron-cluster:shape=aeron-cluster" "A:shape=A" "B:shape=B".
#   Settings for every run: BENCH_SETTINGS="windows=256,16,1 warmup=5 seconds=10 idle=5" (the default).
#   JVM options: BENCH_JAVA_OPTS (default -Xmx2g); another jar (a copy, to keep building meanwhile): BENCH_JAR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
OUT="${2:-bench/target/deployed}"
shift 2 || true
SPECS=("$@")
if [ ${#SPECS[@]} -eq 0 ]; then
  SPECS=("aeron-cluster:shape=aeron-cluster" "A:shape=A" "B:shape=B")
fi
JAR="${BENCH_JAR:-$ROOT/bench/target/benchmarks.jar}"
OPTIONS="$ROOT/bench/target/classes/io/ringraft/bench/jvm.options"
[ -f "$JAR" ] && [ -f "$OPTIONS" ] || { echo "build first: mvn -B -q -Paeron-cluster -pl bench -am package -DskipTests" >&2; exit 2; }
mkdir -p "$OUT/hgrm"
RESULTS="$OUT/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  for spec in "${SPECS[@]}"; do
    label="${spec%%:*}"
    settings="${spec#*:}"
    echo "# round $round $label: $(uptime)" | tee -a "$RESULTS"
    # shellcheck disable=SC2046,SC2086
    java ${BENCH_JAVA_OPTS:--Xmx2g} $(cat "$OPTIONS") -cp "$JAR" io.ringraft.bench.deployed.DeployedShapesBench \
      ${BENCH_SETTINGS:-windows=256,16,1 warmup=5 seconds=10 idle=5} $settings "tag=$label#r$round" "hgrm=$OUT/hgrm" 2>&1 \
      | grep -E '^(RESULT|# )' | tee -a "$RESULTS" || echo "# round $round $label FAILED" | tee -a "$RESULTS"
  done
done
java -cp "$JAR" io.ringraft.bench.deployed.DeployedSummary "$RESULTS"
