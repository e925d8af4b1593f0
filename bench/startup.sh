#!/usr/bin/env bash
# Start-up time of `bin/relay serve` on the demo defaults: from exec to the first 200 of /readyz, and the CPU
# seconds the process used until then (less sensitive than wall time to other work on a shared machine).
#
#   bench/startup.sh [RUNS]        (default 5; needs curl and a built tree)
#   RELAY=DIR bench/startup.sh      the same for an unpacked release (DIR/bin/relay, its bundled runtime and its
#                                   AOT cache; RELAY_AOT_CACHE= RELAY=DIR: the AppCDS archive instead, as before)
#   DEMO_PORTS=S,SS,SINK,ADMIN      the demo's ports (default 12587,12465,12525,19090, not the demo's own)
#
# The first run of a fresh data directory also makes the demo certificate and users file, and (with AppCDS on,
# the default) the first stop writes the class archive: it is reported apart as "cold".
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
RELAY=${RELAY:-.}
DEMO_PORTS=${DEMO_PORTS:-12587,12465,12525,19090}
admin_port=${DEMO_PORTS##*,}
data=$(mktemp -d /tmp/relay-startup.XXXXXX)
tick=$(getconf CLK_TCK)
one() {
  local t0 t1 pid cpu
  t0=$(date +%s%N)
  "$RELAY/bin/relay" serve --data-dir "$data/d" --demo-ports "$DEMO_PORTS" >"$data/log" 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$admin_port/readyz"; do
    kill -0 "$pid" 2>/dev/null || { echo "relay exited:"; cat "$data/log"; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  cpu=$(awk -v t="$tick" '{printf "%.2f", ($14 + $15) / t}' "/proc/$pid/stat")
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$(( (t1 - t0) / 1000000 )) $cpu"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r ms cpu < <(one)
echo "cold: ${ms} ms to ready, ${cpu} s CPU"
for i in $(seq "$RUNS"); do
  read -r ms cpu < <(one)
  echo "run $i: ${ms} ms to ready, ${cpu} s CPU"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$data"
