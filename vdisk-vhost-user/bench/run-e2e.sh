#!/usr/bin/env bash
# End-to-end vhost-user-blk comparison: vdisk vs qemu-storage-daemon, fio in a real Linux guest.
# Writes vdisk-vhost-user/BENCH.md and vdisk-bench/results/vhost-user-e2e.json.
#
#   vdisk-vhost-user/bench/run-e2e.sh [--rounds 3] [--seconds 10] [--warmup 5] [--image-mib 512]
#                                     [--guest-mib 512] [--cpus 1] [--queues 1]
#                                     [--markdown PATH] [--json PATH]
#
# Needs (Debian): qemu-system-x86, qemu-system-common (qemu-storage-daemon), linux-image-amd64,
# busybox-static, fio. Takes about (rounds x 2) x (20 s boot + 4 x seconds + warmup): ~7 min by
# default on an idle 2-core machine (TCG), 3-4 times that on a loaded one (5 rounds took 23 min at
# load 20). Builds only this module (its dependencies come from ~/.m2, as for every module).
# Relative --markdown/--json paths are relative to vdisk-vhost-user/.
set -euo pipefail
module="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$module/.." && pwd)"
for tool in qemu-system-x86_64 qemu-storage-daemon fio busybox; do
  command -v "$tool" >/dev/null || { echo "run-e2e: $tool missing (see the package list above)" >&2; exit 1; }
done
cd "$root"
mvn -B -q -pl vdisk-vhost-user test-compile -Dspotless.check.skip=true
mvn -B -q -pl vdisk-vhost-user dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$module/target/bench-e2e.classpath"
flags="$(sed -n 's:.*<vdisk.jvm.flags>\(.*\)</vdisk.jvm.flags>.*:\1:p' "$root/pom.xml")"
cd "$module"
# shellcheck disable=SC2086 # the flags are a list of separate JVM options
exec "${JAVA:-java}" $flags -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$module/target/classes:$module/target/test-classes:$(cat "$module/target/bench-e2e.classpath")" \
  dev.vdisk.vhost.bench.E2EBench "$@"
