#!/usr/bin/env bash
# Profiles a running relay with async-profiler for one measured stretch (steady state: after warm-up, without
# restarting it), so that the JIT compiler of a fresh JVM does not fill the profile.
#
#   bench/profile.sh start PID [EVENT]     EVENT: cpu (default), alloc, wall, lock
#   ... run the load (e.g. relay-bench's LoadGenerator) ...
#   bench/profile.sh stop PID FILE         writes FILE in collapsed-stack form (one line per stack, count last)
#
# async-profiler comes from Maven Central (tools.profiler:async-profiler:4.1, linux-x64), unpacked once to
# ASPROF_DIR (default /tmp/ap). Needs the same user as the relay's JVM (or root).
set -euo pipefail
cd "$(dirname "$0")/.."
ASPROF_DIR=${ASPROF_DIR:-/tmp/ap}
LIB="$ASPROF_DIR/linux-x64/libasyncProfiler.so"
JAVA=$(bin/relay --find-java)
if [ ! -f "$LIB" ]; then
  mvn -B -q -ntp dependency:copy -Dartifact=tools.profiler:async-profiler:4.1:jar:linux-x64 \
    -DoutputDirectory="$ASPROF_DIR" >/dev/null
  (cd "$ASPROF_DIR" && "$(dirname "$JAVA")/jar" xf async-profiler-4.1-linux-x64.jar)
fi
cmd=${1:-}; pid=${2:-}
[ -n "$pid" ] || { sed -n '2,10p' "$0"; exit 2; }
case "$cmd" in
  start) event=${3:-cpu}
         opts="start,event=$event"
         [ "$event" = cpu ] && opts="$opts,interval=1ms"
         [ "$event" = alloc ] && opts="$opts,total"
         "$JAVA" bench/Attach.java "$pid" "$LIB" "$opts" ;;
  stop)  file=${3:?stop needs the output file}
         "$JAVA" bench/Attach.java "$pid" "$LIB" "stop,file=$(realpath -m "$file"),collapsed" ;;
  *)     sed -n '2,10p' "$0"; exit 2 ;;
esac
