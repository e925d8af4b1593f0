#!/usr/bin/env bash
# Makes the release's AOT cache (JDK 25+, JEP 483/514/515): lib/relay.aot, and lib/relay.aot.jars, the class path
# it was made with (each jar's name, size and time; bin/relay uses the cache only when the jars still match it).
# Called by build-dist.sh on the staged release, before the tarball:
#   aot-training.sh STAGE BENCH_JAR WORK
# A training run of `bin/relay serve` of the stage, its own runtime, on loopback: a relay with a STARTTLS + AUTH
# listener, an implicit-TLS one and a plain trusted one (the shipped relay.yaml's), relaying with STARTTLS + AUTH
# to `relay sink`; relay-bench's LoadGenerator sends TRAINING_MESSAGES (default 6000) 2 KiB messages through the
# first at 32 connections, a tenth of that through each other, and /metrics and /readyz are read. The JVM records
# which classes it loaded and linked and the methods' profiles (-XX:AOTMode=record), and a second JVM assembles the
# cache from them (-XX:AOTMode=create). Under a minute on a 2-core machine. Any failure fails the build, with the
# logs' ends: a release must not ship without the cache it documents.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=loopback.sh
. "$src/loopback.sh"
stage=${1:?stage} bench_jar=${2:?bench jar} work=${3:?work dir}
messages=${TRAINING_MESSAGES:-6000}
relay="$stage/bin/relay"
java="$stage/runtime/bin/java"

fail() {
  echo "aot-training: FAILED: $*" >&2
  local f
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- end of $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
http_get() { # http_get PORT PATH: prints the status code (bash alone: a build machine may lack curl)
  local status
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
  read -r -t 10 _ status _ <&3 || status=
  cat <&3 >/dev/null || true
  exec 3>&- 3<&-
  echo "${status:-0}"
}

command -v openssl >/dev/null || fail "openssl is missing (it makes the training run's test certificate)"
[ -x "$java" ] || fail "no runtime at $java"
rm -rf "$work"; mkdir -p "$work/outbox"
rm -f "$stage/lib/relay.aot" "$stage/lib/relay.aot.jars"

# the class path: relay-server.jar first, then the libraries by name; training, assembly and every start use it
(cd "$stage/lib" && { echo relay-server.jar; LC_ALL=C ls -1 -- *.jar | grep -vx relay-server.jar; } \
  | xargs stat -c '%n %s %Y') > "$stage/lib/relay.aot.jars"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null \
  || fail "openssl req"
RELAY_JAVA_OPTS= "$relay" passwd training <<< training-password > "$work/users" 2> "$work/passwd.log" \
  || fail "relay passwd"
printf 'sink-secret\n' > "$work/sink-password"
take_ports sub subs plain admin sink
sed -e "s#@WORK@#$work#g" -e "s#@SUB_PORT@#$sub#" -e "s#@SUBS_PORT@#$subs#" -e "s#@PLAIN_PORT@#$plain#" \
    -e "s#@SINK_PORT@#$sink#" -e "s#@ADMIN_PORT@#$admin#" "$src/aot-training.yaml" > "$work/relay.yaml"

pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
RELAY_JAVA_OPTS= "$relay" sink --bind "127.0.0.1:$sink" --dir "$work/outbox" --user up --password sink-secret \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" > "$work/sink.log" 2>&1 &
pids+=($!)
# the launcher's own class path and options, with neither the AppCDS archive nor a cache; the JVM writes the
# configuration when it exits
env -u RELAY_JAVA RELAY_CDS_ARCHIVE= RELAY_AOT_CACHE= RELAY_LOG_LEVEL=WARN \
  RELAY_JAVA_OPTS="-XX:AOTMode=record -XX:AOTConfiguration=$work/relay.aotconf" \
  "$relay" serve --config "$work/relay.yaml" > "$work/record.log" 2>&1 &
relay_pid=$!
pids+=($relay_pid)
for _ in $(seq 1 600); do
  [ "$(http_get "$admin" /readyz 2>/dev/null)" = 200 ] && break
  kill -0 "$relay_pid" 2>/dev/null || fail "the training relay exited"
  sleep 0.2
done
[ "$(http_get "$admin" /readyz)" = 200 ] || fail "the training relay was not ready within 120 s"

load() { # load PORT TLS CONNECTIONS MESSAGES [USER]
  local out
  out=$("$java" -cp "$bench_jar" dev.relay.bench.LoadGenerator --port "$1" --tls "$2" --connections "$3" \
    --messages $(( ($4 + $3 - 1) / $3 )) --size 2048 ${5:+--user "$5" --password training-password} 2>>"$work/load.log")
  echo "aot-training: $2 at $3 connections: $out"
  grep -q ' failed=0 ' <<< "$out" || fail "the training load had failures: $out"
  sent=$(( sent + $(sed -n 's/^accepted=\([0-9]*\) .*/\1/p' <<< "$out") ))
}
sent=0
load "$sub" starttls 32 "$messages" training
load "$subs" implicit 8 $(( messages / 10 )) training
load "$plain" none 8 $(( messages / 10 ))
[ "$(http_get "$admin" /metrics)" = 200 ] || fail "GET /metrics"
# every message delivered before the stop, so delivery ran as long as receiving
for _ in $(seq 1 600); do
  [ "$(find "$work/outbox" -name '*.eml' | wc -l)" -ge "$sent" ] && break
  sleep 0.1
done
kill -TERM "$relay_pid"
wait "$relay_pid" || true
[ -s "$work/relay.aotconf" ] || fail "the training JVM wrote no AOT configuration"

env -u RELAY_JAVA RELAY_CDS_ARCHIVE= RELAY_AOT_CACHE= \
  RELAY_JAVA_OPTS="-XX:AOTMode=create -XX:AOTConfiguration=$work/relay.aotconf -XX:AOTCache=$stage/lib/relay.aot" \
  "$relay" serve > "$work/create.log" 2>&1 || fail "assembling the AOT cache"
[ -s "$stage/lib/relay.aot" ] || fail "no AOT cache written"
chmod 0644 "$stage/lib/relay.aot" "$stage/lib/relay.aot.jars"
rm -f "$work/relay.aotconf"
echo "aot-training: $stage/lib/relay.aot ($(du -h "$stage/lib/relay.aot" | cut -f1)) from $sent messages in ${SECONDS} s"
