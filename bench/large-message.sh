#!/usr/bin/env bash
# Heap of the relay while it relays large messages (issue #7, streaming): the same relay, the same heap, once with
# 1 MiB messages and once with 50 MiB messages, each run in a fresh process.
#
#   bench/large-message.sh                          build, then 20 x 1 MiB and 4 x 50 MiB with -Xmx256m
#   SKIP_BUILD=1 HEAP=64m SIZES="1 50 100" COUNTS="20 4 2" bench/large-message.sh
#
# The relay (bin/relay serve: G1, the launcher's options, plus -Xmx$HEAP and a GC log) receives on a plain
# loopback listener that trusts 127.0.0.1, commits to its spool and relays to `relay sink` (which writes each
# message to disk); the load generator (relay-bench) sends the messages one after the other on one connection.
# While messages are in flight the script forces a full GC about twice a second (jcmd GC.run): the heap after
# such a collection is the live set at that moment. Reported per size, from the GC log (gc+heap=debug, KiB):
#   idle live   the live set once the relay is ready, before any message
#   peak live   the highest live set after a forced full GC while messages were in flight (what streaming bounds)
#   max after   the highest heap after any collection (young ones too: floating garbage in the old gen counts)
#   max used    the highest heap before any collection (the occupancy peak: set by the heap's sizing and the
#               allocation rate, not by live data)
# Needs a built tree (or SKIP_BUILD=1 after one), curl, the JDK's jcmd, the G1 collector (the JVM's default; the
# log parsing reads G1's lines) and free loopback ports (SINK_PORT, RELAY_PORT, ADMIN_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HEAP=${HEAP:-256m}
SIZES=(${SIZES:-1 50})      # MiB
COUNTS=(${COUNTS:-20 4})    # messages of each size
WORK=${WORK:-/tmp/relay-large-message}
SINK_PORT=${SINK_PORT:-11625}
RELAY_PORT=${RELAY_PORT:-11626}
ADMIN_PORT=${ADMIN_PORT:-11627}

JAVA=$(bin/relay --find-java)
JCMD="$(dirname "$JAVA")/jcmd"
[ -x "$JCMD" ] || { echo "bench: $JCMD not found: a full JDK is needed" >&2; exit 1; }
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -ntp package -DskipTests
LOADGEN=("$JAVA" -cp "$ROOT/relay-bench/target/relay-bench.jar" dev.relay.bench.LoadGenerator)

rm -rf "$WORK"; mkdir -p "$WORK"
SINK_PID=; RELAY_PID=
cleanup() {
  [ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null || true
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
}
trap cleanup EXIT
bin/relay sink --bind "127.0.0.1:$SINK_PORT" --dir "$WORK/outbox" > "$WORK/sink.log" 2>&1 &
SINK_PID=$!
cat > "$WORK/relay.yaml" <<YAML
listeners:
  - { name: local, bind: "127.0.0.1:$RELAY_PORT", tls: none }
auth: { trusted-networks: ["127.0.0.1/32"] }
spool: { dir: "$WORK/spool", min-free-space: 0 }
limits: { max-message-size: 200MiB }
upstreams:
  - { name: sink, url: "smtp://127.0.0.1:$SINK_PORT", tls: none }
admin: { bind: "127.0.0.1:$ADMIN_PORT" }
YAML

delivered() { find "$WORK/outbox" -name '*.eml' 2>/dev/null | wc -l; }
# From GC log lines $2 on (MiB): the last and the highest heap after a forced full GC, the highest after any
# collection, the highest before any, and the number of collections
gc_figures() {
  tail -n +"$2" "$1" | awk '
    function id() { match($0, /GC\([0-9]+\)/); return substr($0, RSTART, RLENGTH) }
    /Heap Before GC/ { when = "before" }
    /Heap After GC/ { when = "after" }
    /garbage-first heap/ && match($0, /used [0-9]+K/) {
      k = substr($0, RSTART + 5, RLENGTH - 6) / 1024
      if (when == "before" && k > used) used = k
      if (when == "after") { after[id()] = k; if (k > maxafter) maxafter = k }
    }
    /Pause Full \((System.gc|Diagnostic Command)/ {
      last = after[id()]; if (last > live) live = last
    }
    /\[gc *\].*Pause/ { n++ }
    END { printf "%.1f %.1f %.1f %.1f %d\n", last, live, maxafter, used, n }'
}

echo "heap -Xmx$HEAP, G1; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| message | messages | seconds | idle live | peak live | max after GC | max used | GCs |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for i in "${!SIZES[@]}"; do
  mib=${SIZES[$i]}; count=${COUNTS[$i]}
  gclog="$WORK/gc-${mib}m.log"
  rm -rf "$WORK/spool" "$WORK/outbox"; mkdir -p "$WORK/outbox"
  RELAY_CDS_ARCHIVE= RELAY_LOG_LEVEL=WARN RELAY_JAVA_OPTS="-Xmx$HEAP -Xlog:gc,gc+heap=debug:file=$gclog" \
    bin/relay serve --config "$WORK/relay.yaml" > "$WORK/relay-${mib}m.log" 2>&1 &
  RELAY_PID=$!   # bin/relay execs java: this is the JVM
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$RELAY_PID" 2>/dev/null || { echo "relay exited:"; cat "$WORK/relay-${mib}m.log"; exit 1; }
    sleep 0.2
  done
  "$JCMD" "$RELAY_PID" GC.run >/dev/null
  sleep 0.5
  idle=$(gc_figures "$gclog" 1 | awk '{ print $1 }')
  from=$(( $(wc -l < "$gclog") + 1 ))
  t0=$(date +%s%N)
  "${LOADGEN[@]}" --port "$RELAY_PORT" --tls none --connections 1 --messages "$count" \
    --size $(( mib * 1024 * 1024 )) > "$WORK/loadgen-${mib}m.log" 2>&1 &
  LOAD_PID=$!
  while kill -0 "$LOAD_PID" 2>/dev/null || [ "$(delivered)" -lt "$count" ]; do
    "$JCMD" "$RELAY_PID" GC.run >/dev/null 2>&1 || true
    sleep 0.3
    if [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 600 ]; then
      echo "bench: $count x $mib MiB not delivered within 10 minutes" >&2; exit 1
    fi
  done
  wait "$LOAD_PID" || { echo "load generator failed:"; cat "$WORK/loadgen-${mib}m.log"; exit 1; }
  grep -q "accepted=$count failed=0" "$WORK/loadgen-${mib}m.log" \
    || { echo "not every message was accepted:"; cat "$WORK/loadgen-${mib}m.log"; exit 1; }
  secs=$(awk -v t="$(( $(date +%s%N) - t0 ))" 'BEGIN { printf "%.1f", t / 1e9 }')
  kill -0 "$RELAY_PID" 2>/dev/null || { echo "relay died:"; tail -20 "$WORK/relay-${mib}m.log"; exit 1; }
  ! grep -q OutOfMemoryError "$WORK/relay-${mib}m.log" || { echo "relay ran out of memory"; exit 1; }
  read -r _ live after used n < <(gc_figures "$gclog" "$from")
  printf '| %d MiB | %d | %s | %s MiB | %s MiB | %s MiB | %s MiB | %d |\n' \
    "$mib" "$count" "$secs" "$idle" "$live" "$after" "$used" "$n"
  kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true; RELAY_PID=
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
