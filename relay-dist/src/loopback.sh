# Shell functions for scripts that run the relay on loopback (sourced: aot-training.sh, test/deb-install-test.sh).

# take_ports NAME...: sets each named variable to its own loopback port that no socket uses. The ports come from
# below the kernel's ephemeral range (ip_local_port_range), so an outgoing connection cannot take one between the
# choice and the bind (a CI run once failed so: its listener's port was some connection's local port), and are
# checked against every TCP socket in any state, not only listening ones.
take_ports() {
  local low=32768 high top name p taken=" "
  read -r low high < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  top=$(( low - 1 )); [ "$top" -gt 20000 ] || top=65535   # a machine whose ephemeral range starts low: any port
  for name in "$@"; do
    while true; do
      p=$(( 20000 + (RANDOM * 32768 + RANDOM) % (top - 20000 + 1) ))
      case "$taken" in *" $p "*) continue ;; esac
      port_in_use "$p" && continue
      break
    done
    taken="$taken$p "
    printf -v "$name" '%s' "$p"
  done
}

port_in_use() { # port_in_use PORT: some TCP socket (IPv4 or IPv6, any state) has it as its local port
  local hex f
  hex=$(printf ':%04X ' "$1")
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] && awk -v h="$hex" 'NR > 1 && index($2 " ", h) { found = 1 } END { exit !found }' "$f" && return 0
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
