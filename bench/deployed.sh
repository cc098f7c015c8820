#!/usr/bin/env bash
# The deployed shapes of issue 17 (DeployedShapesBench), each run in a fresh JVM, the runs interleaved
# round by round, then the medians (DeployedSummary). Run from the repository root after
#   mvn -B -q -Paeron-cluster -pl bench -am package -DskipTests
# Usage: bench/deployed.sh ROUNDS OUTDIR [LABEL:SETTINGS ...]
#   each LABEL:SETTINGS is one run per round, SETTINGS the bench's key=value settings separated by spaces,
#   default: "aeron-cluster:shape=aeron-cluster" "A:shape=A" "B:shape=B".
#   A LABEL starting with C runs shape C instead: `ringraft load --processes` (3 node processes and the load
#   process, KV service) once per window of C_WINDOWS (default 256,16,1), SETTINGS being its flags (e.g.
#   --durability=NONE), C_WARMUP/C_DURATION (default 5s/10s); CPU% is that of the whole process tree.
#   Settings for every run: BENCH_SETTINGS="windows=256,16,1 warmup=5 seconds=10 idle=5" (the default).
#   JVM options: BENCH_JAVA_OPTS (default -Xmx2g). The jar and its JVM flags are copied to OUTDIR first, so
#   building meanwhile does not disturb the runs; each run's whole output goes to OUTDIR/runs.log.
set -euo pipefail
# One compound command: bash reads it whole before running it, so a checkout that changes this file mid-run is harmless.
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
OUT="${2:-bench/target/deployed}"
shift 2 || true
SPECS=("$@")
if [ ${#SPECS[@]} -eq 0 ]; then
  SPECS=("aeron-cluster:shape=aeron-cluster" "A:shape=A" "B:shape=B")
fi
[ -f "$ROOT/bench/target/benchmarks.jar" ] && [ -f "$ROOT/bench/target/classes/io/ringraft/bench/jvm.options" ] ||
  { echo "build first: mvn -B -q -Paeron-cluster -pl bench -am package -DskipTests" >&2; exit 2; }
mkdir -p "$OUT/hgrm"
cp "$ROOT/bench/target/benchmarks.jar" "$OUT/benchmarks.jar"
cp "$ROOT/bench/target/classes/io/ringraft/bench/jvm.options" "$OUT/jvm.options"
JAR="$OUT/benchmarks.jar"
OPTIONS="$OUT/jvm.options"
RESULTS="$OUT/results.txt"
# One run of shape C per window; its summary line becomes a RESULT line.
run_c() {
  local label="$1" round="$2" flags="$3" w
  for w in $(echo "${C_WINDOWS:-256,16,1}" | tr , ' '); do
    # shellcheck disable=SC2086
    /usr/bin/time -f "TIME %e %U %S %M" "$ROOT/ringraft" load --processes --window="$w" --warmup="${C_WARMUP:-5s}" \
      --duration="${C_DURATION:-10s}" --hgrm="$OUT/hgrm/C-$label-r$round-w$w" $flags 2>&1 | awk -v label="$label" -v round="$round" -v w="$w" '
      function us(v, unit) { return unit == "s" ? v * 1e6 : unit == "ms" ? v * 1e3 : v }
      /^== / { line = $0; sub(/.*: /, "", line); split(line, f, " "); ops = f[1]; gsub(",", "", ops)
               for (i = 1; i <= length(f); i++) { if (f[i] == "p50") p50 = us(f[i+1], f[i+2]); if (f[i] == "p99") p99 = us(f[i+1], f[i+2]) } }
      /^TIME / { cpu = ($3 + $4) * 100 / $2 }
      END { if (ops == "") { print "# C " label " window " w " FAILED" } else {
            printf "RESULT shape=C tag=%s#r%s window=%s ops=%s p50=%.1f p99=%.1f cpu=%.0f failures=0\n", label, round, w, ops, p50, p99, cpu } }'
  done
}

for round in $(seq 1 "$ROUNDS"); do
  for spec in "${SPECS[@]}"; do
    label="${spec%%:*}"
    settings="${spec#*:}"
    echo "# round $round $label: $(uptime)" | tee -a "$RESULTS"
    if [ "${label:0:1}" = "C" ]; then
      run_c "$label" "$round" "$settings" | tee -a "$RESULTS"
      continue
    fi
    # shellcheck disable=SC2046,SC2086
    java ${BENCH_JAVA_OPTS:--Xmx2g} $(cat "$OPTIONS") -cp "$JAR" io.ringraft.bench.deployed.DeployedShapesBench \
      ${BENCH_SETTINGS:-windows=256,16,1 warmup=5 seconds=10 idle=5} $settings "tag=$label#r$round" "hgrm=$OUT/hgrm" 2>&1 \
      | tee -a "$OUT/runs.log" | grep -E '^(RESULT|# )' | tee -a "$RESULTS" || echo "# round $round $label FAILED" | tee -a "$RESULTS"
  done
done
java -cp "$JAR" io.ringraft.bench.deployed.DeployedSummary "$RESULTS"
exit
}
