# Shell functions for scripts that run the relay on loopback (sourced: aot-training.sh, test/deb-install-test.sh).

free_port() { # a loopback port nothing listens on
  local p
  while true; do
    p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
