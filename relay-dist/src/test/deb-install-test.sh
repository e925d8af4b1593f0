#!/usr/bin/env bash
# Installs the relay's Debian package on this machine, as an operator would, and checks it end to end:
#   the relay user, /var/spool/relay (0750 relay:relay), /etc/relay/relay.yaml as a conffile that passes
#   check-config as shipped, the unit enabled and not started, the bundled runtime; then one message relayed by
#   the installed files running as the relay user (to `relay sink` on loopback); then a purge, which keeps the
#   spool and says so; and lintian on the package. Needs root and apt-get (Debian); .ci/run runs it after the
#   build.
#   relay-dist/src/test/deb-install-test.sh [path/to/relay-*.deb]
set -euo pipefail
cd "$(dirname "$0")/../../.."

deb="${1:-$(ls relay-dist/target/relay-*-amd64.deb 2>/dev/null | head -n 1)}"
[ -f "$deb" ] || { echo "deb-install-test: no package (build it: mvn -B package -DskipTests)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "deb-install-test: needs root (it installs a package)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' relay 2>/dev/null | grep -q "ok installed"; then
  echo "deb-install-test: a relay package is installed already; this test installs and purges its own" >&2
  exit 1
fi

fail() { echo "deb-install-test: FAILED: $*" >&2; exit 1; }
tmp="$(mktemp -d /tmp/relay-deb-test.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if dpkg-query -W -f='${Status}' relay 2>/dev/null | grep -q installed; then apt-get purge -y -qq relay >/dev/null || true; fi
  # the spool, when this test made it (a failed run too: the next run must find the machine as it was)
  if [ -e /var/spool/relay.deb-test-owned ]; then rm -rf /var/spool/relay /var/spool/relay.deb-test-owned; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# shellcheck source=../loopback.sh
. relay-dist/src/loopback.sh
wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
  local until=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$until" ] || return 1
    sleep 0.2
  done
}

# lintian: no errors and no warnings (the overrides the package ships say why each one is overridden)
if command -v lintian >/dev/null 2>&1; then
  lintian --fail-on error,warning "$deb" 2>&1 | grep -v "running with root privileges" || true
  lintian --fail-on error,warning "$deb" >/dev/null 2>&1 || fail "lintian reports errors or warnings"
elif [ "${CI:-}" = true ]; then
  fail "lintian is missing (.ci/run installs it)"
else
  echo "deb-install-test: lintian not installed here, not run (apt-get install lintian)"
fi

spool_existed=0; [ -d /var/spool/relay ] && spool_existed=1
echo "deb-install-test: installing $deb"
apt-get install -y -qq "./$deb" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "apt-get install"; }
cat "$tmp/install.log" | grep "^relay:" || true
[ "$spool_existed" = 1 ] || touch /var/spool/relay.deb-test-owned

getent passwd relay >/dev/null || fail "no relay user"
[ "$(stat -c '%a %U %G' /var/spool/relay)" = "750 relay relay" ] || fail "/var/spool/relay is $(stat -c '%a %U %G' /var/spool/relay)"
dpkg-query -W -f='${Conffiles}\n' relay | grep -q "/etc/relay/relay.yaml" || fail "/etc/relay/relay.yaml is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/relay.service ] || fail "relay.service is not enabled"
grep -q "^ExecStart=/usr/bin/relay serve --config /etc/relay/relay.yaml" /lib/systemd/system/relay.service \
  || fail "the unit does not run /usr/bin/relay"
[ "$(/usr/bin/relay --find-java)" = /usr/lib/relay/runtime/bin/java ] || fail "the bundled runtime is not used"
/usr/bin/relay --version | grep -q "/usr/lib/relay/runtime" || fail "relay --version"
/usr/bin/relay check-config /etc/relay/relay.yaml > "$tmp/check.log" 2>&1 || { cat "$tmp/check.log"; fail "check-config of the shipped file"; }
if pgrep -u relay -f "relay serve" >/dev/null; then fail "the relay was started by the installation"; fi

# One message, as an operator would set it up: the smarthost (here `relay sink` with STARTTLS and AUTH), its
# password in a file only root and the relay group read, the relay running as the relay user from the unit's
# command line.
take_ports sink_port sub_port admin_port
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$tmp/sink-key.pem" -out "$tmp/sink-cert.pem" 2>/dev/null \
  || fail "openssl"
mkdir -p "$tmp/outbox"
chown -R relay:relay "$tmp"
chmod 0755 "$tmp"
runuser -u relay -- /usr/bin/relay sink --bind "127.0.0.1:$sink_port" --dir "$tmp/outbox" --user up \
  --password sink-secret --tls-cert "$tmp/sink-cert.pem" --tls-key "$tmp/sink-key.pem" > "$tmp/sink.log" 2>&1 &
pids+=($!)
install -m 0640 -g relay /dev/null /etc/relay/smarthost-password
printf 'sink-secret\n' > /etc/relay/smarthost-password
cat > /etc/relay/relay.yaml <<YAML
hostname: relay.test
listeners:
  - { name: local, bind: "127.0.0.1:$sub_port", tls: none }
auth:
  trusted-networks: ["127.0.0.1/32"]
spool:
  dir: /var/spool/relay
upstreams:
  - name: smarthost
    url: "smtp://up@127.0.0.1:$sink_port"
    password-file: /etc/relay/smarthost-password
    trust: $tmp/sink-cert.pem
admin:
  bind: "127.0.0.1:$admin_port"
YAML
/usr/bin/relay check-config /etc/relay/relay.yaml > "$tmp/check.log" 2>&1 || { cat "$tmp/check.log"; fail "check-config"; }
exec_start="$(sed -n 's/^ExecStart=//p' /lib/systemd/system/relay.service)"
(cd /var/spool/relay && exec runuser -u relay -- $exec_start) > "$tmp/relay.log" 2>&1 &
relay_pid=$!
pids+=($relay_pid)
ready() { curl -fsS -o /dev/null "http://127.0.0.1:$admin_port/readyz" 2>/dev/null; }
wait_for 60 ready || { cat "$tmp/relay.log"; fail "the relay did not become ready"; }
printf 'From: app@example.com\r\nTo: b@example.com\r\nSubject: through the deb\r\n\r\nhello\r\n' > "$tmp/mail.eml"
curl -sS --mail-from app@example.com --mail-rcpt b@example.com --upload-file "$tmp/mail.eml" \
  "smtp://127.0.0.1:$sub_port" || fail "submission"
delivered() { grep -qs "through the deb" "$tmp"/outbox/*.eml; }
wait_for 30 delivered || { cat "$tmp/relay.log"; fail "the message did not arrive at the smarthost"; }
# the message history: its file beside the queue, the relay user's alone, the message in it (relay history asks the
# admin API)
history_has_it() { /usr/bin/relay history --admin "http://127.0.0.1:$admin_port" --status delivered 2>/dev/null \
  | grep -q "app@example.com"; }
wait_for 20 history_has_it || { cat "$tmp/relay.log"; fail "relay history does not show the message"; }
[ "$(stat -c '%U %a' /var/spool/relay/history.db)" = "relay 600" ] \
  || fail "/var/spool/relay/history.db is $(stat -c '%U %a' /var/spool/relay/history.db)"
# (by its command line: other relays, a test suite's, may run beside this on a build machine)
pgrep -u relay -f "dev.relay.server.Main serve --config /etc/relay/relay.yaml" >/dev/null \
  || fail "the relay did not run as relay"
# the AOT cache the release build made is mapped: the installed jars are the ones it was made with (dpkg keeps
# their times), so the launcher passes it and the JVM takes it (a refused cache is not mapped)
relay_java=$(pgrep -u relay -f "dev.relay.server.Main serve --config /etc/relay/relay.yaml" | head -n 1)
grep -q " /usr/lib/relay/lib/relay.aot$" "/proc/$relay_java/maps" \
  || fail "the relay did not map the release's AOT cache: $(tr '\0' ' ' < "/proc/$relay_java/cmdline")"
if pgrep -u root -f "dev.relay.server.Main serve --config /etc/relay/relay.yaml" >/dev/null; then
  fail "the relay ran as root"
fi
kill -TERM "$relay_pid"
wait "$relay_pid" || true
grep -q "stopped; queued messages stay in /var/spool/relay" "$tmp/relay.log" || { cat "$tmp/relay.log"; fail "no clean stop"; }

echo "deb-install-test: purging"
apt-get purge -y relay > "$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "apt-get purge"; }
grep -q "the spool /var/spool/relay is kept" "$tmp/purge.log" || { cat "$tmp/purge.log"; fail "purge did not say the spool stays"; }
[ -d /var/spool/relay ] || fail "purge removed the spool"
[ ! -e /usr/lib/relay ] && [ ! -e /usr/bin/relay ] && [ ! -e /etc/relay/relay.yaml ] || fail "purge left package files"
rm -f /etc/relay/smarthost-password; rmdir /etc/relay 2>/dev/null || true
echo "deb-install-test: OK (installed, one message relayed as the relay user, purged with the spool kept)"
