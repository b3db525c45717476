#!/usr/bin/env bash
# NBD benchmark (run by hand, not a test). In one run, against one nbdkit memory export filled
# with random data (so there are no holes to skip):
#   1. copy the export to a new file with `vdisk copy --no-flush`, `nbdcopy` and `qemu-img convert`,
#      each with its defaults otherwise (nbdcopy fsyncs the new file only with --flush; vdisk copy
#      does by default, so the like-for-like figure uses --no-flush and the flushed copy is timed
#      as a fourth, separate figure);
#   2. 4 KiB random reads at queue depth 1 and 32 through vdisk's NBD client (one connection,
#      NbdRandomReadBench) and through libnbd (fio's nbd engine, which drives libnbd from C over one
#      connection).
# The machine is shared and noisy, so every contender runs ROUNDS times, the contenders alternate
# within each round, and the medians are compared. vdisk copy runs through bin/vdisk (so with the
# launcher's JVM flags) on a frozen copy of vdisk.jar, and its time includes the JVM's start, as a
# user sees it.
#
# NBDKIT_THREADS=N starts nbdkit with --threads N (default: nbdkit's own, 16) for every contender.
# SERVER=vdisk serves the export with `vdisk serve --disk ram:SIZE --nbd-socket` instead of nbdkit's
# memory plugin (same clients, same data), to see each client's queue-depth scaling against another
# server.
#
# Needs: nbdkit, libnbd-bin, fio, qemu-utils, bc; the modules installed (the run uses the jars in
# ~/.m2, a copy of vdisk-cli/target/vdisk.jar and of the bench class, so builds in the shared
# checkout cannot pull them away):
#   mvn -B -q -pl vdisk-remote install -DskipTests && mvn -B -q -pl vdisk-remote test-compile
#   mvn -B -q -pl vdisk-cli install -DskipTests
# Usage: vdisk-remote/bench/nbd-bench.sh [SIZE (1G)] [SECONDS per random-read run (5)] [ROUNDS (3)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size="${1:-1G}"
secs="${2:-5}"
rounds="${3:-3}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mvn -B -q -f "$root/vdisk-cli/pom.xml" dependency:build-classpath \
  -Dmdep.outputFile="$work/cp.txt" >/dev/null
mkdir -p "$work/classes/dev/vdisk/remote"
cp -r "$root/vdisk-remote/target/test-classes/dev/vdisk/remote/bench" "$work/classes/dev/vdisk/remote/"
cli_jar="$HOME/.m2/repository/dev/vdisk/vdisk-cli/0.1.0-SNAPSHOT/vdisk-cli-0.1.0-SNAPSHOT.jar"
cp "$root/vdisk-cli/target/vdisk.jar" "$work/vdisk.jar"
vdisk=(env VDISK_JAR="$work/vdisk.jar" "$root/bin/vdisk")
cp="$cli_jar:$work/classes:$(cat "$work/cp.txt")"
jflags=(--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
  -Dchronicle.analytics.disable=true -XX:+IgnoreUnrecognizedVMOptions --enable-native-access=ALL-UNNAMED
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
sock="$work/mem.sock"
uri="nbd+unix:///?socket=$sock"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1);" \
  "nbdkit $(nbdkit --version | cut -d' ' -f2); date $(date -u +%FT%TZ)"
echo "command: SERVER=${SERVER:-nbdkit} NBDKIT_THREADS=${NBDKIT_THREADS:-} $0 $size $secs $rounds"

case "${SERVER:-nbdkit}" in
  nbdkit)
    nbdkit -f --exit-with-parent ${NBDKIT_THREADS:+--threads "$NBDKIT_THREADS"} -U "$sock" memory \
      "$size" &
    ;;
  vdisk) "${vdisk[@]}" serve --disk "ram:$size" --nbd-socket "$sock" >"$work/serve.log" 2>&1 & ;;
  *) echo "SERVER=$SERVER (expected nbdkit or vdisk)" >&2; exit 2 ;;
esac
pids+=($!)
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.1; done
head -c "$size" /dev/urandom > "$work/random.img"
nbdcopy "$work/random.img" "$uri"
rm -f "$work/random.img"; sync

seconds() {
  local s e
  s=$(date +%s.%N)
  "$@" >"${OUT:-/dev/null}" || { echo "FAILED: $*" >&2; exit 1; }
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
# vdisk copy's own figure ("copied ... in X s"): the copy inside the JVM, without the JVM's start.
inside() { sed -n 's/.* in \([0-9.]*\) s,.*/\1/p' "$work/vdisk.out"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { echo "scale=2; $1 / $2" | bc; }
# Removes a copy and waits for the disk, so no contender starts while another's writeback runs.
settle() { rm -f "$1"; sync; }

declare -a tv tn tq tf ti
for r in $(seq "$rounds"); do
  tv+=("$(OUT="$work/vdisk.out" seconds "${vdisk[@]}" copy --no-progress --no-flush "$uri" \
    "$work/vdisk.img")")
  ti+=("$(inside)")
  settle "$work/vdisk.img"
  tn+=("$(seconds nbdcopy "$uri" "$work/nbdcopy.img")")
  settle "$work/nbdcopy.img"
  tq+=("$(seconds qemu-img convert -f raw -O raw "$uri" "$work/qemu.img")")
  settle "$work/qemu.img"
  tf+=("$(seconds "${vdisk[@]}" copy --no-progress "$uri" "$work/vdisk.img")")
  settle "$work/vdisk.img"
  echo "round $r copy of $size: vdisk copy --no-flush ${tv[-1]} s (${ti[-1]} s inside the JVM)," \
    "nbdcopy ${tn[-1]} s, qemu-img convert ${tq[-1]} s, vdisk copy (flushed) ${tf[-1]} s"
done
mv=$(median "${tv[@]}"); mn=$(median "${tn[@]}"); mq=$(median "${tq[@]}"); mf=$(median "${tf[@]}")
mi=$(median "${ti[@]}")
echo "MEDIAN copy of $size: vdisk copy --no-flush $mv s ($mi s inside the JVM), nbdcopy $mn s," \
  "qemu-img convert $mq s, vdisk copy (flushed) $mf s; vdisk speed / nbdcopy = $(ratio "$mn" "$mv")x" \
  "($(ratio "$mn" "$mi")x inside the JVM), vdisk / qemu-img = $(ratio "$mq" "$mv")x"

declare -A runs
for r in $(seq "$rounds"); do
  for qd in 1 32; do
    v=$(java "${jflags[@]}" -cp "$cp" dev.vdisk.remote.bench.NbdRandomReadBench "$uri" "$qd" "$secs")
    l=$(fio --name=randread --ioengine=nbd --uri="$uri" --rw=randread --bs=4k --iodepth="$qd" \
      --size="$size" --runtime="$secs" --ramp_time=1 --time_based --output-format=terse \
      --terse-version=3 2>/dev/null | grep '^3;' | cut -d';' -f8)
    l="libnbd(fio) qd=$qd iops=$l"
    echo "round $r: $v; $l"
    runs[v$qd]+="${v##*=} "
    runs[l$qd]+="${l##*=} "
  done
done
# shellcheck disable=SC2086 # word splitting of the run lists is intended
{
  v1=$(median ${runs[v1]}); v32=$(median ${runs[v32]})
  l1=$(median ${runs[l1]}); l32=$(median ${runs[l32]})
}
echo "MEDIAN 4 KiB random reads, IOPS: vdisk QD1 $v1, QD32 $v32; libnbd QD1 $l1, QD32 $l32"
echo "vdisk QD32/QD1 = $(ratio "$v32" "$v1")x; libnbd QD32/QD1 = $(ratio "$l32" "$l1")x;" \
  "vdisk/libnbd QD1 = $(ratio "$v1" "$l1")x, QD32 = $(ratio "$v32" "$l32")x"
