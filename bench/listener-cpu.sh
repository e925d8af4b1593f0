#!/usr/bin/env bash
# Steady-state CPU per message of one relay, on its STARTTLS + AUTH listener and on a plain trusted listener, in
# alternating runs after a long warm-up (issue #22's goals: <= 0.5 ms with TLS, <= 0.4 ms plain). The relay relays
# to `relay sink`; the CPU (user + system of the relay's JVM, /proc/PID/stat) counts from before each run to the
# delivery of its last message, the load generator's own warm-up messages included.
#
#   bench/listener-cpu.sh                 the tree built with `mvn package`
#   RELAY=DIR bench/listener-cpu.sh       an unpacked release (its runtime, its AOT cache)
#   ROUNDS=3 PER=250 WARM=3 bench/listener-cpu.sh   rounds of both runs; messages per connection (32
#                                         connections); warm-up rounds (each 2 x 32 x PER messages, not measured)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RELAY=${RELAY:-$ROOT}
ROUNDS=${ROUNDS:-3}
PER=${PER:-250}
WARM=${WARM:-3}
WORK=${WORK:-/tmp/relay-listener-cpu}
SUB=${BENCH_RELAY_PORT:-11687} PLAIN=${BENCH_PLAIN_PORT:-11688} ADMIN=${BENCH_ADMIN_PORT:-11690} SINK=${SINK_PORT:-11625}
JAVA=$(bin/relay --find-java)
[ -f relay-bench/target/relay-bench.jar ] || { echo "listener-cpu: build first (mvn -B package -DskipTests)" >&2; exit 1; }
rm -rf "$WORK"; mkdir -p "$WORK/outbox"
RELAY_JAVA_OPTS= bin/relay passwd bench <<< benchpass > "$WORK/users"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
cat > "$WORK/relay.yaml" <<YAML
listeners:
  - { name: submission, bind: "127.0.0.1:$SUB", tls: starttls }
  - { name: plain, bind: "127.0.0.1:$PLAIN", tls: none }
tls: { cert: "$WORK/tls.crt", key: "$WORK/tls.key" }
auth: { users-file: "$WORK/users", trusted-networks: ["127.0.0.1/32"] }
spool: { dir: "$WORK/spool" }
upstreams:
  - { name: sink, url: "smtp://127.0.0.1:$SINK", tls: none }
admin: { bind: "127.0.0.1:$ADMIN" }
limits: { max-connections: 1000, max-connections-per-client: 1000, max-messages-per-connection: 1000000 }
YAML
bin/relay sink --bind "127.0.0.1:$SINK" --dir "$WORK/outbox" > /dev/null 2>&1 &
sink_pid=$!
RELAY_LOG_LEVEL=WARN "$RELAY/bin/relay" serve --config "$WORK/relay.yaml" > "$WORK/relay.log" 2>&1 &
trap 'kill $sink_pid $(pgrep -f "dev.relay.server.Main serve --config $WORK/relay.yaml") 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ADMIN/readyz" > /dev/null 2>&1 && break; sleep 0.1; done
pid=$(pgrep -f "dev.relay.server.Main serve --config $WORK/relay.yaml" | head -1)
[ -n "$pid" ] || { cat "$WORK/relay.log"; exit 1; }
load() { # load PORT TLS: 32 connections, PER messages each after 50 each unmeasured
  "$JAVA" -cp relay-bench/target/relay-bench.jar dev.relay.bench.LoadGenerator --port "$1" --tls "$2" \
    --user bench --password benchpass --size 2048 --connections 32 --messages "$PER" --warmup 50
}
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
delivered() { find "$WORK/outbox" -name '*.eml' | wc -l; }
hz=$(getconf CLK_TCK)
echo "listener-cpu: $(date -u +%FT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg), relay $RELAY"
for _ in $(seq 1 "$WARM"); do load "$SUB" starttls > /dev/null; load "$PLAIN" none > /dev/null; done
for r in $(seq 1 "$ROUNDS"); do
  for mode in "$SUB starttls" "$PLAIN none"; do
    set -- $mode
    d0=$(delivered); c0=$(ticks)
    out=$(load "$1" "$2")
    n=$(( 32 * (PER + 50) ))
    until [ "$(delivered)" -ge $(( d0 + n )) ]; do sleep 0.05; done
    c1=$(ticks)
    printf 'round %d, %-8s %s ms CPU per message, %s\n' "$r" "$2:" \
      "$(awk -v d=$((c1 - c0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", d / hz / n * 1000 }')" \
      "$(grep -oE 'msg/s=[0-9.]+' <<< "$out") accepted"
  done
done
echo "listener-cpu: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
