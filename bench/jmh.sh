#!/usr/bin/env bash
# JMH microbenchmarks of the hot paths (relay-bench/src/jmh/java, built only with the Maven profile jmh):
# DATA reading and dot-unstuffing (DataStream), the spool commit (Spool.store, 1/8/32 threads, fsyncs per
# message), dot-stuffing on the way out (DotStuffer, DotStuffedBody).
#
#   bench/jmh.sh                    short run: 1 fork, 2 x 1 s warm-up, 3 x 2 s measured per benchmark (~2 min)
#   LONG=1 bench/jmh.sh             longer: 2 forks, 3 x 2 s warm-up, 5 x 5 s measured (~20 min)
#   bench/jmh.sh Spool              only the benchmarks matching a regular expression
#   bench/jmh.sh -f 3 -i 10 Spool   any JMH option, in place of the default (benchmarks.jar -h lists them)
#   SKIP_BUILD=1 bench/jmh.sh       reuse relay-bench/target/benchmarks.jar
#
# The spool benchmark writes to a fresh directory under SPOOL_BENCH_DIR (default relay-bench/target, on the
# project's disk: a tmpfs would measure no fsync at all). Results: the JMH table on stdout, the whole output in
# relay-bench/target/jmh.log and the figures in relay-bench/target/jmh-result.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JAVA=$(bin/relay --find-java)
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -ntp -Pjmh -pl relay-bench -am package -DskipTests
SPOOL_BENCH_DIR=${SPOOL_BENCH_DIR:-$ROOT/relay-bench/target}
if [ "${LONG:-}" = 1 ]; then
  DEFAULTS=(-f 2 -wi 3 -w 2s -i 5 -r 5s)
else
  DEFAULTS=(-f 1 -wi 2 -w 1s -i 3 -r 2s)
fi
RUN=()  # the defaults the command line does not set itself (JMH refuses an option given twice)
for ((k = 0; k < ${#DEFAULTS[@]}; k += 2)); do
  case " $* " in *" ${DEFAULTS[k]} "*) ;; *) RUN+=("${DEFAULTS[k]}" "${DEFAULTS[k + 1]}") ;; esac
done
# JDK 23+ warns at every start that JMH uses sun.misc.Unsafe; the forks inherit these options
JVM_ARGS=("-Drelay.bench.dir=$SPOOL_BENCH_DIR")
if "$JAVA" --sun-misc-unsafe-memory-access=allow -version >/dev/null 2>&1; then
  JVM_ARGS+=(--sun-misc-unsafe-memory-access=allow)
fi
LOG=$ROOT/relay-bench/target/jmh.log
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$JAVA" "${JVM_ARGS[@]}" -jar relay-bench/target/benchmarks.jar "${RUN[@]}" \
    -rf json -rff "$ROOT/relay-bench/target/jmh-result.json" "$@"
  echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$LOG"
grep '^fsyncs/message' "$LOG" || true
