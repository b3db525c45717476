#!/usr/bin/env bash
# Runs the vdisk benchmark report: builds target/benchmarks.jar when missing or stale, runs a
# preset (default "short": every hot-loop workload at the headline configuration, under 5 minutes
# on 2 cores), then writes target/report/{results.json,report.md,*.png} and prints the Markdown.
#
#   vdisk-bench/run-report.sh                     short preset
#   vdisk-bench/run-report.sh --preset targets    the target figures, 3 forks x 5 x 2 s (~9 min):
#                                                 the verdict (short's single fork is a screening)
#   vdisk-bench/run-report.sh --preset full       every workload x depth x layout x queues (~30 min)
#   vdisk-bench/run-report.sh --smoke             the short steps at 1 x 0.2 s (checks the pipeline)
#   vdisk-bench/run-report.sh --render FILE.json  report on an existing JMH JSON file
#   vdisk-bench/run-report.sh --publish           also copy the report to vdisk-bench/REPORT.md
#                                                 and its charts to vdisk-bench/report/ (to commit);
#                                                 with --preset targets: REPORT-targets.md and
#                                                 report/targets-*.png
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
prefix=""
previous=""
for a in "$@"; do
  if [[ "$a" == "--publish" ]]; then publish=1; else args+=("$a"); fi
  if [[ "$previous" == "--preset" && "$a" != "short" ]]; then prefix="$a"; fi
  previous="$a"
done
out="$here/target/report"
"${JAVA:-java}" -Dchronicle.analytics.disable=true -Djava.awt.headless=true \
  -cp "$jar" dev.vdisk.bench.report.RunReport --out "$out" \
  --e2e "$here/results/vhost-user-e2e.json" \
  --note "command: vdisk-bench/run-report.sh ${*}" ${args[@]+"${args[@]}"}
if [[ "$publish" == 1 ]]; then
  # The committed copy: REPORT.md next to the README, its charts under report/.
  # Other presets (targets) publish beside it: REPORT-<preset>.md, report/<preset>-*.png.
  mkdir -p "$here/report"
  md="$here/REPORT${prefix:+-$prefix}.md"
  for png in "$out"/*.png; do
    cp "$png" "$here/report/${prefix:+$prefix-}$(basename "$png")"
  done
  sed -E "s#\]\(([A-Za-z0-9._-]+\.png)\)#](report/${prefix:+$prefix-}\1)#g" "$out/report.md" > "$md"
  echo "run-report: published $md and $here/report/${prefix:+$prefix-}*.png" >&2
fi
