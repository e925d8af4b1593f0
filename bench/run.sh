#!/usr/bin/env bash
# Load harness: the relay and Postfix side by side, same machine, same run, same upstream sink.
#
#   bench/run.sh                      build, then measure both at 1, 32 and 128 connections
#   CONNS="32" MESSAGES=4000 SIZE=2048 bench/run.sh
#   PROFILE_OPTS="-XX:StartFlightRecording=filename=/tmp/relay.jfr,settings=profile" bench/run.sh   (JVM options for the relay only)
#   HALF_LOAD=0 bench/run.sh          without the half-load rows
#   REPEAT=3 bench/run.sh             every measurement three times over (same JVMs), then the median ratios
#   PIPELINE_AFTER_DATA=yes bench/run.sh   the client sends the next MAIL/RCPT/DATA with the end of the data
#                                     (RFC 2920 section 3.1; default no: each envelope waits for the 250)
#   CLIENT_WARMUP=0 bench/run.sh      no client warm-up before each run (default 3000 messages, not measured)
#   BENCH_RELAY_PORT=12587 BENCH_ADMIN_PORT=12590 WORK=/tmp/b2 bench/run.sh   other ports for the relay under test
#   RELAY=DIR bench/run.sh            the relay of an unpacked release (DIR/bin/relay, its runtime, its AOT cache)
#   FIRST=20000 bench/run.sh          messages of the fresh relay's first-messages row (default 20000; 0: none)
#   SYSCALLS=1 bench/run.sh           also count the relay's system calls in each of its runs (perf stat on the
#                                     raw_syscalls and syscalls tracepoints; needs perf and root): per message, in
#                                     all and the eight most frequent, listed under the table
#   SIZES="2048 102400" bench/run.sh  message sizes: the first is SIZE, each further one gets a row per server at
#                                     LARGE_CONNS (32) connections with LARGE_MESSAGES (1000) messages
#
# Both relays receive with STARTTLS + AUTH on loopback, commit durably, and relay to Postfix's smtp-sink on
# 127.0.0.1:10525 (started by the Postfix set-up script, POSTFIX_SCRIPT, default ../shared/bench/postfix-relay.sh;
# without it only the relay is measured, against its own `relay sink`). For each run it reports: messages per
# second accepted, acceptance latency (end of DATA to 250: p50, p99, max), end-to-end throughput (first
# submission to last message at the sink), errors, and for each server the CPU seconds per 1,000 messages (user +
# system of all its processes: the relay's JVM; Postfix's master and its children, those that exited included)
# and its RSS and PSS after the run (/proc/PID/smaps_rollup, summed over those processes); for the relay also the
# bytes it allocated on the Java heap per message (jvm_allocated_bytes_total from its /metrics). Before its warm-up the
# relay, a fresh process, gets FIRST messages at 32 connections: its CPU per message over them is the cost of a
# restarted relay (JIT compilation included), reported apart. Rows for larger messages (SIZES) come last, with
# messages per CPU-second (the rate one fully used core would give) for a per-core comparison.
# Half load (HALF_LOAD=1, the default; needs 32 in CONNS): after the full-speed runs, both servers again at 32
# connections, paced open loop (LoadGenerator --rate) at half of the lower of the two full-speed accepted rates
# at 32 connections, in rows tagged "half load": the acceptance latency (p50, p99, max) at a load both sustain.
# Needs root for Postfix (it configures this machine's Postfix: use a disposable machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CONNS=${CONNS:-"1 32 128"}
MESSAGES=${MESSAGES:-2000}
SIZE=${SIZE:-2048}
SIZES=${SIZES-"$SIZE 102400"}     # the first is the main table's size; empty: SIZE alone
read -r SIZE LARGE_SIZES <<< "${SIZES:-$SIZE}"
LARGE_CONNS=${LARGE_CONNS:-32}
LARGE_MESSAGES=${LARGE_MESSAGES:-1000}
FIRST=${FIRST:-20000}
RELAY=${RELAY:-$ROOT}
# messages each server gets before the measured runs, half in three rounds at 32 connections, half at 1 (0: none;
# until 2026-11-24 12,000 with a quarter at 1: the relay's first repeat at 1 connection was then still 20% slower
# than its later ones, 834-894 against 981-1,130 msg/s)
WARMUP=${WARMUP:-18000}
# messages each run's load generator sends first, unmeasured, so that its own JIT is warm when the measured
# messages start (LoadGenerator --warmup, spread over the connections; 0: none). A cold client cost the relay a
# fifth of its rate at 1 connection (830-870 msg/s against 1,065-1,175 with a warm client, same relay).
CLIENT_WARMUP=${CLIENT_WARMUP:-3000}
HALF_LOAD=${HALF_LOAD:-1}
REPEAT=${REPEAT:-1}
PIPELINE_AFTER_DATA=${PIPELINE_AFTER_DATA:-no}
POSTFIX_SCRIPT=${POSTFIX_SCRIPT:-$ROOT/../shared/bench/postfix-relay.sh}
WORK=${WORK:-/tmp/relay-bench}
SINK_PORT=${SINK_PORT:-10525}   # Postfix's smtp-sink (postfix-relay.sh reads SINK_PORT too) or the relay's own sink
RELAY_SUB=${BENCH_RELAY_PORT:-11587}    # not RELAY_*: the relay reads those as configuration
RELAY_ADMIN=${BENCH_ADMIN_PORT:-11590}
OUT=${OUT:-$ROOT/bench/results-$(date -u +%Y%m%d-%H%M).md}

JAVA=$(bin/relay --find-java)
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -ntp package -DskipTests
LOADGEN=("$JAVA" -cp "$ROOT/relay-bench/target/relay-bench.jar" dev.relay.bench.LoadGenerator)

rm -rf "$WORK"; mkdir -p "$WORK"
have_postfix=0
if [ -f "$POSTFIX_SCRIPT" ] && [ "$(id -u)" = 0 ]; then
  bash "$POSTFIX_SCRIPT" start >/dev/null
  have_postfix=1
  # smtp-sink -c rewrites one counter line ("sess=N quit=N mesg=N") with carriage returns; the end of its output
  # holds the latest (the set-up script's own count reads the whole file, megabytes after a few runs: 0.1 s)
  SINK_OUT="${STATE:-/tmp/pfbench}/sink.out"
  sink_count() {
    if [ -f "$SINK_OUT" ]; then
      tail -c 256 "$SINK_OUT" | tr '\r' '\n' | grep -oE 'mesg=[0-9]+' | tail -1 | grep -oE '[0-9]+' || echo 0
    else
      bash "$POSTFIX_SCRIPT" count
    fi
  }
else
  echo "bench: Postfix set-up script not usable ($POSTFIX_SCRIPT, or not root): measuring the relay alone" >&2
  bin/relay sink --bind 127.0.0.1:$SINK_PORT --dir "$WORK/outbox" >/dev/null 2>&1 &
  SINK_PID=$!
  sink_count() { find "$WORK/outbox" -name '*.eml' 2>/dev/null | wc -l; }
fi

# the relay under test
RELAY_JAVA_OPTS= bin/relay passwd bench <<< benchpass > "$WORK/users"
cat > "$WORK/relay.yaml" <<YAML
listeners:
  - { name: submission, bind: "127.0.0.1:$RELAY_SUB", tls: starttls }
tls: { cert: "$WORK/tls.crt", key: "$WORK/tls.key" }
auth: { users-file: "$WORK/users" }
spool: { dir: "$WORK/spool" }
upstreams:
  - { name: sink, url: "smtp://127.0.0.1:$SINK_PORT", tls: none }
admin: { bind: "127.0.0.1:$RELAY_ADMIN" }
limits:                               # the load generator is one client keeping its sessions open, like Postfix allows
  max-connections: 1000
  max-connections-per-client: 1000
  max-messages-per-connection: 1000000
YAML
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
if [ -n "${PROFILE_OPTS:-}" ]; then export RELAY_CDS_ARCHIVE=; fi   # a profiler agent and CDS dumping do not mix
RELAY_JAVA_OPTS="${PROFILE_OPTS:-${RELAY_JAVA_OPTS:-}}" RELAY_LOG_LEVEL=WARN "$RELAY/bin/relay" serve --config "$WORK/relay.yaml" > "$WORK/relay.log" 2>&1 &
RELAY_PID=$!
cleanup() {
  kill "$RELAY_PID" 2>/dev/null || true
  [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null || true
  [ "$have_postfix" = 1 ] && bash "$POSTFIX_SCRIPT" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$RELAY_ADMIN/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 1
jpid=$(pgrep -f "dev.relay.server.Main serve --config $WORK/relay.yaml" | head -1)
HZ=$(getconf CLK_TCK)
# the processes of a server: the relay's JVM; Postfix's master and its children (smtpd, cleanup, qmgr, smtp, ...)
server_pids() {
  if [ "$1" = relay ]; then
    echo "$jpid"
  else
    local master; master=$(head -1 "$(postconf -h queue_directory)/pid/master.pid" 2>/dev/null | tr -d ' ')
    [ -n "$master" ] && { echo "$master"; pgrep -P "$master" || true; }
  fi
}
# CPU ticks (user + system) of a server's processes; with the children they waited for (cutime, cstime), so a
# Postfix process that exited during the run still counts, through its master
cpu_ticks() {
  local p t=0
  for p in $(server_pids "$1"); do
    t=$(( t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  echo "$t"
}
# "RSS PSS" in MiB, summed over a server's processes
mem_mib() {
  local p
  for p in $(server_pids "$1"); do cat "/proc/$p/smaps_rollup" 2>/dev/null || true; done |
    awk '/^Rss:/ { r += $2 } /^Pss:/ { p += $2 } END { printf "%.0f %.0f\n", r / 1024, p / 1024 }'
}
# CPU ticks of the relay's JIT compiler threads (C1, C2) alive now: the JVM ends idle ones, and the ticks of an
# ended thread are no longer listed, so a difference of two readings is a lower bound of the compilers' CPU
jit_ticks() {
  local t n=0
  for t in /proc/"$jpid"/task/*; do
    case "$(cat "$t/comm" 2>/dev/null)" in
      C1\ Compiler*|C2\ Compiler*) n=$(( n + $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0) )) ;;
    esac
  done
  echo "$n"
}
# bytes the relay allocated on its Java heap since it started (its jvm_allocated_bytes_total)
allocated() {
  curl -sf "http://127.0.0.1:$RELAY_ADMIN/metrics" 2>/dev/null | awk '/^jvm_allocated_bytes_total / { printf "%.0f\n", $2; f = 1 } END { if (!f) print 0 }'
}
# syscall counting around a relay run (SYSCALLS=1): perf stat on the relay's threads, all syscall tracepoints
SYSCALL_NOTES=()
syscalls_start() {
  [ "${SYSCALLS:-0}" = 1 ] || return 0
  # counts until the stop file appears (a background perf may ignore SIGINT, as a non-interactive shell's jobs do)
  rm -f "$WORK/perf.stop" "$WORK/perf.out"
  # (every syscalls:sys_enter_* tracepoint on every thread can exceed the open-file limit: the usual ones only)
  local ev=(-e raw_syscalls:sys_enter) sc
  for sc in read write readv writev pread64 pwrite64 futex epoll_wait epoll_pwait epoll_ctl openat close statx \
      newfstatat fstat lseek fdatasync fsync rename renameat renameat2 link linkat unlink unlinkat ftruncate \
      sendto recvfrom sendmsg recvmsg accept4 connect socket setsockopt getsockopt shutdown fcntl ioctl poll \
      mmap munmap madvise mprotect sched_yield nanosleep clock_nanosleep getdents64 getrusage; do
    [ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$sc" ] || [ -d "/sys/kernel/debug/tracing/events/syscalls/sys_enter_$sc" ] \
      && ev+=(-e "syscalls:sys_enter_$sc")
  done
  perf stat -x, "${ev[@]}" -p "$jpid" -o "$WORK/perf.out" -- \
    sh -c "while [ ! -e '$WORK/perf.stop' ]; do sleep 0.05; done" 2>"$WORK/perf.err" &
  PERF_PID=$!
  sleep 0.5   # attached to every thread before the run starts
}
syscalls_stop() { # syscalls_stop LABEL MESSAGES
  [ "${SYSCALLS:-0}" = 1 ] || return 0
  touch "$WORK/perf.stop"
  wait "$PERF_PID" 2>/dev/null || true
  [ -s "$WORK/perf.out" ] || { echo "bench: perf stat failed: $(cat "$WORK/perf.err")" >&2; return 0; }
  SYSCALL_NOTES+=("$1: $(awk -F, -v n="$2" '
    $3 == "raw_syscalls:sys_enter" { total = $1 }
    $3 ~ /^syscalls:sys_enter_/ && $1 + 0 > 0 { sub(/^syscalls:sys_enter_/, "", $3); c[$3] = $1 }
    END {
      printf "%.1f syscalls per message:", (n > 0 ? total / n : 0)
      k = 0
      while (k < 8) {
        best = ""; for (s in c) if (best == "" || c[s] > c[best]) best = s
        if (best == "") break
        printf " %s %.2f", best, c[best] / n; delete c[best]; k++
      }
    }' "$WORK/perf.out")")
}
read -r IDLE_RSS IDLE_PSS < <(mem_mib relay)
[ "$have_postfix" = 1 ] && read -r PF_IDLE_RSS PF_IDLE_PSS < <(mem_mib postfix)

field() { sed -n "s|^\(.* \)\{0,1\}$1=\([^ ]*\).*|\2|p" <<< "$2"; }   # the field named $1, not envelope_$1

# run NAME PORT USER PASSWORD CONNECTIONS [RATE TAG MESSAGES SIZE]: prints one table row, sets LAST_RATE (accepted
# msg/s), LAST_CPU (CPU ms per message) and LAST_OUT (the load generator's summary); with RATE the load is paced at
# RATE msg/s in total, the row tagged TAG
LAST_RATE=0
LAST_E2E=0
LAST_CPU=0
LAST_OUT=
run() {
  local name=$1 port=$2 user=$3 pass=$4 c=$5 rate=${6:-0} tag=${7:-} messages=${8:-$MESSAGES} size=${9:-$SIZE}
  local per=$(( (messages + c - 1) / c )) cwarm=$(( CLIENT_WARMUP < messages ? CLIENT_WARMUP : messages ))
  local before after t0 t1 out cpu0 cpu1
  local alloc0=0
  if [ "$name" = relay ]; then alloc0=$(allocated); syscalls_start; fi
  before=$(sink_count)
  cpu0=$(cpu_ticks "$name")
  t0=$(date +%s.%N)
  # The summary line is read as soon as it is written, not when the generator's JVM exits: that exit waits for
  # the JIT's compilations in progress, 0.3 s and more, which would count against the end-to-end rate.
  local outf="$WORK/loadgen.out" gen
  : > "$outf"
  "${LOADGEN[@]}" --port "$port" --tls starttls --user "$user" --password "$pass" \
        --connections "$c" --messages "$per" --size "$size" --rate "$rate" --pipeline-after-data "$PIPELINE_AFTER_DATA" \
        --warmup $(( (cwarm + c - 1) / c )) > "$outf" &
  gen=$!
  until [ -s "$outf" ] || ! kill -0 "$gen" 2>/dev/null; do sleep 0.02; done
  sleep 0.01   # the rest of the one line, if the write was caught half-way
  out=$(head -1 "$outf")
  LAST_OUT=$out
  LAST_RATE=$(field msg/s "$out")
  local accepted; accepted=$(field accepted "$out")
  local warmed; warmed=$(field warmup_accepted "$out")
  local want=$(( before + ${warmed:-0} + ${accepted:-0} ))   # the warm-up's messages are delivered too
  for _ in $(seq 1 12000); do
    after=$(sink_count)
    [ "$after" -ge "$want" ] && break
    sleep 0.01
  done
  t1=$(date +%s.%N)
  wait "$gen" || true
  echo "bench: $name${tag:+, $tag} at $c: $out" >&2
  # end to end is from the first submission to the last delivery: the load generator says when it started, so
  # its own JVM start is not counted either; t0 above remains for a generator that does not say
  local started; started=$(field started_at_ms "$out")
  [ -n "$started" ] && t0=$(awk -v ms="$started" 'BEGIN { printf "%.3f", ms / 1000 }')
  local e2e; e2e=$(awk -v n="$accepted" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
  LAST_E2E=$e2e
  # (the CPU time covers the client's warm-up messages too)
  cpu1=$(cpu_ticks "$name")
  local n=$(( ${accepted:-0} + ${warmed:-0} ))
  LAST_CPU=$(awk -v d=$((cpu1 - cpu0)) -v hz="$HZ" -v n="$n" \
    'BEGIN { printf "%.2f", (n > 0 ? d / hz / n * 1000 : 0) }')
  local alloc=""
  if [ "$name" = relay ]; then
    syscalls_stop "relay${tag:+, $tag} at $c connections" "$n"
    alloc=$(awk -v a="$alloc0" -v b="$(allocated)" -v n="$n" 'BEGIN { printf "%.0f", (n > 0 && b > a ? (b - a) / n / 1024 : 0) }')
  fi
  local rss pss; read -r rss pss < <(mem_mib "$name")
  local extra="$LAST_CPU | ${alloc:--} | $rss | $pss"
  printf '| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n' "$name${tag:+, $tag}" "$c" "$accepted" "$(field msg/s "$out")" \
    "$e2e" "$(field p50 "$out")" "$(field p99 "$out")" "$(field max "$out")" "$(field errors "$out")" "$extra"
}

# The fresh relay's first FIRST messages (32 connections, the client cold too: no client warm-up), measured apart:
# CPU (user + system) from just before them to the last one's delivery, per message; the JIT compiler's work on
# the relay's code is in it, as after a restart by a rollout or a node drain. They count towards the warm-up.
FIRST_LINE=
if [ "$FIRST" -gt 0 ]; then
  f0=$(sink_count); c0=$(cpu_ticks relay); j0=$(jit_ticks); a0=$(allocated); t0=$(date +%s.%N)
  out=$("${LOADGEN[@]}" --port "$RELAY_SUB" --tls starttls --user bench --password benchpass --connections 32 \
    --messages $(( (FIRST + 31) / 32 )) --size "$SIZE" --pipeline-after-data "$PIPELINE_AFTER_DATA")
  fn=$(field accepted "$out")
  for _ in $(seq 1 12000); do
    [ "$(sink_count)" -ge $(( f0 + fn )) ] && break
    sleep 0.01
  done
  t1=$(date +%s.%N); c1=$(cpu_ticks relay); j1=$(jit_ticks); a1=$(allocated)
  echo "bench: relay, fresh process, first $fn messages: $out" >&2
  read -r frss fpss < <(mem_mib relay)
  FIRST_LINE=$(awk -v d=$((c1 - c0)) -v j=$((j1 - j0)) -v hz="$HZ" -v n="$fn" -v a="$t0" -v b="$t1" -v r="$frss" \
    -v p="$fpss" -v rate="$(field msg/s "$out")" -v e="$(field errors "$out")" -v al=$((a1 - a0)) 'BEGIN {
      printf "Relay, fresh process, first %d messages (32 connections, %.1f s to the last delivery, %s msg/s accepted, errors %s): %.2f ms CPU per message (%.1f CPU s, of which JIT compiler threads at least %.1f s, %.0f%%); %.0f KiB allocated per message; RSS %s MiB, PSS %s MiB after", n, b - a, rate, e, (n > 0 ? d / hz / n * 1000 : 0), d / hz, j / hz, (d > 0 ? 100 * j / d : 0), (n > 0 ? al / n / 1024 : 0), r, p }')
fi

# Warm-up, not reported: a relay runs for days, so the table is about steady state. Without it the relay's first
# runs pay for its JIT compiler: C2 was ~30% of the relay's CPU samples over a 6,000-message run from a fresh JVM,
# and `jstat -compiler` still counted a core's worth of compiling through the first 10,000 messages; the rate at
# 1 connection rose from 350 to 600 msg/s over the first five runs of 3,000. Both servers get the same warm-up,
# in rounds at 32 connections and at 1 (the paths differ: batches against single commits).
if [ "$WARMUP" -gt 0 ]; then
  w0=$(sink_count); wn=0
  for port in $RELAY_SUB $([ "$have_postfix" = 1 ] && echo 10587); do
    for round in 1 2 3; do
      out=$("${LOADGEN[@]}" --port "$port" --tls starttls --user bench --password benchpass --connections 32 \
        --messages $(( (WARMUP / 6 + 31) / 32 )) --size "$SIZE")
      wn=$(( wn + $(field accepted "$out") ))
    done
    out=$("${LOADGEN[@]}" --port "$port" --tls starttls --user bench --password benchpass --connections 1 \
      --messages $(( WARMUP / 2 )) --size "$SIZE")
    wn=$(( wn + $(field accepted "$out") ))
  done
  for _ in $(seq 1 1200); do   # every warm-up message delivered before the first measured run counts the sink
    [ "$(sink_count)" -ge $(( w0 + wn )) ] && break
    sleep 0.1
  done
fi

{
  echo "# Load harness results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${SIZE}-byte messages, $MESSAGES per run, after a warm-up of $WARMUP, client warm-up $CLIENT_WARMUP per run$([ "$PIPELINE_AFTER_DATA" = yes ] && echo ", envelopes pipelined after the data"))"
  echo
  echo "Relay idle RSS after start: ${IDLE_RSS} MiB"
  echo
  echo "Idle after start, from smaps_rollup: relay RSS ${IDLE_RSS} MiB, PSS ${IDLE_PSS} MiB$([ "$have_postfix" = 1 ] && echo "; Postfix (all its processes) RSS ${PF_IDLE_RSS} MiB, PSS ${PF_IDLE_PSS} MiB")"
  [ -n "$FIRST_LINE" ] && { echo; echo "$FIRST_LINE"; }
  echo
  echo "| server | connections | accepted | accepted msg/s | end-to-end msg/s | p50 | p99 | max | errors | CPU s / 1000 msg (all its processes) | KiB allocated / msg | RSS MiB | PSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  relay32= postfix32=
  declare -A ratios=()   # connections -> "accepted-ratio/end-to-end-ratio ..." over the repeats
  p99s=()                # half load: "relay p99 vs postfix p99" per repeat
  for r in $(seq 1 "$REPEAT"); do
    tag=; if [ "$REPEAT" -gt 1 ]; then tag="run $r"; fi   # (an assignment from a failing $(...) would end set -e)
    for c in $CONNS; do
      run relay $RELAY_SUB bench benchpass "$c" 0 "$tag"
      ra=$LAST_RATE re=$LAST_E2E
      [ "$c" = 32 ] && [ -z "$relay32" ] && relay32=$LAST_RATE
      if [ "$have_postfix" = 1 ]; then
        run postfix 10587 bench benchpass "$c" 0 "$tag"
        [ "$c" = 32 ] && [ -z "$postfix32" ] && postfix32=$LAST_RATE
        ratios[$c]+="$(awk -v a="$ra" -v b="$LAST_RATE" -v c="$re" -v d="$LAST_E2E" \
          'BEGIN { printf "%.2f/%.2f", (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }') "
      fi
    done
  done
  # larger messages: one row per server and size; messages per CPU-second = the rate of one fully used core
  large=()
  per_core() { awk -v e="$LAST_E2E" -v c="$LAST_CPU" \
    'BEGIN { printf "%s msg/s end to end, %s ms CPU per message = %.0f msg per CPU-second", e, c, (c > 0 ? 1000 / c : 0) }'; }
  for size in $LARGE_SIZES; do
    tag="$size-byte messages"
    run relay $RELAY_SUB bench benchpass "$LARGE_CONNS" 0 "$tag" "$LARGE_MESSAGES" "$size"
    large+=("$tag at $LARGE_CONNS connections: relay $(per_core)")
    if [ "$have_postfix" = 1 ]; then
      run postfix 10587 bench benchpass "$LARGE_CONNS" 0 "$tag" "$LARGE_MESSAGES" "$size"
      large[-1]+="; Postfix $(per_core)"
    fi
  done
  notes=()
  # half of the lower full-speed rate at 32 connections in the first repeat (the relay's alone without Postfix)
  half=$(awk -v a="${relay32:-0}" -v b="${postfix32:-${relay32:-0}}" 'BEGIN { printf "%.1f", (a < b ? a : b) / 2 }')
  if [ "$HALF_LOAD" = 1 ] && awk -v h="$half" 'BEGIN { exit !(h > 0) }'; then
    for r in $(seq 1 "$REPEAT"); do
      tag="half load ($half msg/s offered)"; if [ "$REPEAT" -gt 1 ]; then tag="$tag, run $r"; fi
      run relay $RELAY_SUB bench benchpass 32 "$half" "$tag"
      notes+=("relay at $tag: $LAST_OUT")
      rp99=$(field p99 "$LAST_OUT")
      if [ "$have_postfix" = 1 ]; then
        run postfix 10587 bench benchpass 32 "$half" "$tag"
        notes+=("postfix at $tag: $LAST_OUT")
        p99s+=("$rp99 vs $(field p99 "$LAST_OUT")")
      fi
    done
  elif [ "$HALF_LOAD" = 1 ]; then
    notes+=("no half-load rows: they need a full-speed run at 32 connections (32 in CONNS) that accepted messages")
  fi
  if [ "$REPEAT" -gt 1 ] && [ "$have_postfix" = 1 ]; then
    echo
    echo "Ratios relay / Postfix over $REPEAT repeats (accepted/end-to-end per repeat; median):"
    echo
    echo "| connections | per repeat | median accepted | median end-to-end |"
    echo "|---|---|---|---|"
    for c in $CONNS; do
      med() { tr ' ' '\n' <<< "${ratios[$c]}" | grep . | cut -d/ -f"$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
      echo "| $c | ${ratios[$c]% } | $(med 1)x | $(med 2)x |"
    done
    [ ${#p99s[@]} -gt 0 ] && { echo; echo "Half-load p99, relay vs Postfix, per repeat: $(IFS=';'; echo "${p99s[*]}" | sed 's/;/; /g')"; }
  fi
  if [ ${#large[@]} -gt 0 ]; then
    echo
    echo "Per core (messages per CPU-second: 1,000 / CPU ms per message):"
    echo
    for n in "${large[@]}"; do echo "- $n"; done
  fi
  if [ ${#SYSCALL_NOTES[@]} -gt 0 ]; then
    echo
    echo "The relay's system calls (perf stat on its threads during each run; the client's warm-up messages counted):"
    echo
    for n in "${SYSCALL_NOTES[@]}"; do echo "- $n"; done
  fi
  if [ ${#notes[@]} -gt 0 ]; then
    echo
    echo "Half load = 32 connections paced open loop at half of the lower full-speed accepted rate at 32"
    echo "connections; late_worst is how late the latest send was against its planned time."
    echo
    for n in "${notes[@]}"; do echo "- $n"; done
  fi
} | tee "$OUT"
echo "bench: results written to $OUT" >&2
