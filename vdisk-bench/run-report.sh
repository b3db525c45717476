#!/usr/bin/env bash
# Runs the vdisk benchmark report: builds target/benchmarks.jar when missing or stale, runs a
# preset (default "short": every hot-loop workload at the headline configuration, under 5 minutes
# on 2 cores), then writes target/report/{results.json,report.md,*.png} and prints the Markdown.
#
#   vdisk-bench/run-report.sh                     short preset
#   vdisk-bench/run-report.sh --preset full       every workload x depth x layout x queues (~30 min)
#   vdisk-bench/run-report.sh --smoke             the short steps at 1 x 0.2 s (checks the pipeline)
#   vdisk-bench/run-report.sh --render FILE.json  report on an existing JMH JSON file
#   vdisk-bench/run-report.sh --publish           also copy the report to vdisk-bench/REPORT.md
#                                                 and its charts to vdisk-bench/report/ (to commit)
#   JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java vdisk-bench/run-report.sh   on another JDK
#
# The vdisk modules it benchmarks come from ~/.m2 (mvn -pl <module> install), like every build here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
jar="$here/target/benchmarks.jar"
if [[ ! -f "$jar" ]] || [[ -n "$(find "$here/src" "$here/pom.xml" -newer "$jar" -print -quit)" ]]; then
  echo "run-report: building $jar" >&2
  (cd "$root" && mvn -B -q -DskipTests -Dspotless.check.skip=true -pl vdisk-bench package >&2)
fi
publish=0
args=()
for a in "$@"; do
  if [[ "$a" == "--publish" ]]; then publish=1; else args+=("$a"); fi
done
out="$here/target/report"
"${JAVA:-java}" -Dchronicle.analytics.disable=true -Djava.awt.headless=true \
  -cp "$jar" dev.vdisk.bench.report.RunReport --out "$out" \
  --e2e "$here/results/vhost-user-e2e.json" \
  --note "command: vdisk-bench/run-report.sh ${*}" ${args[@]+"${args[@]}"}
if [[ "$publish" == 1 ]]; then
  # The committed copy: REPORT.md next to the README, its charts under report/.
  mkdir -p "$here/report"
  cp "$out"/*.png "$here/report/"
  sed -E 's#\]\(([A-Za-z0-9._-]+\.png)\)#](report/\1)#g' "$out/report.md" > "$here/REPORT.md"
  echo "run-report: published $here/REPORT.md and $here/report/*.png" >&2
fi
