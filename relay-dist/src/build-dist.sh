#!/usr/bin/env bash
# Builds the release layout and tarball (called by relay-dist/pom.xml in the package phase):
#   target/relay-<version>-linux-x86_64/            bin/relay, lib/ (the jars, staged by Maven; the AOT cache
#                                                   relay.aot and relay.aot.jars on JDK 25+), runtime/ (jlink),
#                                                   etc/relay.yaml, systemd/relay.service, README.md
#   target/relay-<version>-linux-x86_64.tar.gz      that directory
#   target/deb/                                     what the Debian package adds: /etc, /usr/share, /lib/systemd
# Environment (from the pom): ROOT (the source tree), TARGET, NAME, VERSION, BENCH_JAR (relay-bench.jar, the
# load generator of the AOT cache's training run, aot-training.sh). JLINK=path chooses the jlink; by
# default the one beside the Java the launcher finds (a JDK >= 21: JAVA_HOME, PATH, /usr/lib/jvm, ...).
set -euo pipefail
: "${ROOT:?}" "${TARGET:?}" "${NAME:?}" "${VERSION:?}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stage="$TARGET/$NAME"

# The modules the relay's jars use (jdeps --print-module-deps over relay-server.jar and lib/*), plus
# jdk.crypto.ec (elliptic-curve TLS on a JDK 21 runtime; empty on later ones), jdk.charsets (mail in legacy
# charsets) and jdk.naming.dns. ReleaseTarballIT relays a message over TLS with this runtime.
MODULES=java.base,java.desktop,java.naming,java.net.http,java.sql,jdk.httpserver,jdk.jfr,jdk.management,\
jdk.unsupported,jdk.crypto.ec,jdk.charsets,jdk.naming.dns

if [ -z "${JLINK:-}" ]; then
  java="$("$ROOT/bin/relay" --find-java)"
  JLINK="$(dirname "$(readlink -f "$java")")/jlink"
fi
if [ ! -x "$JLINK" ]; then
  echo "build-dist: no jlink at $JLINK: the release's runtime is made with a JDK >= 21's jlink (a JRE has none);" \
       "point JAVA_HOME or JLINK at a JDK" >&2
  exit 1
fi

[ -f "$stage/lib/relay-server.jar" ] || { echo "build-dist: $stage/lib/relay-server.jar is missing" >&2; exit 1; }
rm -rf "$stage/runtime" "$stage/bin" "$stage/etc" "$stage/systemd" "$TARGET/deb"
"$JLINK" --add-modules "$MODULES" --output "$stage/runtime" --strip-debug --no-man-pages --no-header-files \
  --compress=zip-6 --generate-cds-archive 2>&1 | grep -v "^Warning: The --compress" || true
[ -x "$stage/runtime/bin/java" ] || { echo "build-dist: jlink made no runtime" >&2; exit 1; }
# The security providers of conf/security/java.security whose module is not in this runtime are left out of the
# list. When a lookup finds no provider among those present (the first TLS connection asks for several), the JDK
# looks for each listed provider it cannot find among its own with a ServiceLoader over the class path, and so
# loads and makes BouncyCastle's provider from its signed jar: the first STARTTLS took 307 - 365 ms, now 70 - 81
# (docs/performance.md, "Start-up").
security="$stage/runtime/conf/security/java.security"
provider_module() {
  case "$1" in
    SUN|SunRsaSign|SunEC|SunJSSE|SunJCE) echo java.base ;; # SunEC: jdk.crypto.ec, in MODULES, on JDK 21
    SunJGSS) echo java.security.jgss ;;
    SunSASL) echo java.security.sasl ;;
    XMLDSig) echo java.xml.crypto ;;
    SunPCSC) echo java.smartcardio ;;
    JdkLDAP) echo java.naming ;;
    JdkSASL) echo jdk.security.jgss ;;
    SunPKCS11) echo jdk.crypto.cryptoki ;;
    *) echo unknown ;;
  esac
}
present=" $("$stage/runtime/bin/java" --list-modules | sed 's/@.*//' | tr '\n' ' ') "
kept=() dropped=()
while IFS= read -r name; do
  if [[ "$present" == *" $(provider_module "$name") "* ]]; then kept+=("$name"); else dropped+=("$name"); fi
done < <(sed -n 's/^security\.provider\.[0-9]*=\([A-Za-z0-9]*\).*/\1/p' "$security")
if [ ${#kept[@]} -lt 5 ]; then
  echo "build-dist: only ${kept[*]:-no} security providers of the runtime are present" >&2
  exit 1
fi
list=$(i=1; for name in "${kept[@]}"; do echo "security.provider.$i=$name"; i=$((i + 1)); done
       echo "# (relay's build-dist.sh left out the providers whose module is not in this runtime: ${dropped[*]:-none})")
awk -v list="$list" '/^security\.provider\.[0-9]+=/ { if (!done) { print list; done = 1 } next } { print }' \
  "$security" > "$security.new" && mv "$security.new" "$security"
# the base class-data archive for heaps over 32 GiB (no compressed object pointers): a relay never runs with one,
# and without it such a JVM only starts a little slower. 15 MiB of the runtime's 88.
rm -f "$stage/runtime/lib/server/classes_nocoops.jsa"
# the JDK's native libraries carry symbol tables the runtime never reads: about a third of their size
if command -v strip >/dev/null 2>&1; then
  find "$stage/runtime" -type f \( -name '*.so' -o -path '*/bin/*' -o -name jexec -o -name jspawnhelper \) -exec strip --strip-unneeded {} +
else
  echo "build-dist: no strip (binutils) here: the runtime's native libraries keep their symbol tables" >&2
fi

install -d "$stage/bin" "$stage/etc" "$stage/systemd"
install -m 0755 "$ROOT/bin/relay" "$stage/bin/relay"
install -m 0644 "$src/relay.yaml" "$stage/etc/relay.yaml"
install -m 0644 "$ROOT/deploy/systemd/relay.service" "$stage/systemd/relay.service"
install -m 0644 "$ROOT/README.md" "$stage/README.md"
chmod -R u+w,go-w "$stage"

# the AOT cache (lib/relay.aot, JDK 25+): a training run of this very stage under load; bin/relay uses it
runtime_version="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$stage/runtime/release")"
if [ "${runtime_version:-0}" -ge 25 ]; then
  : "${BENCH_JAR:?relay-bench.jar, the load generator of the AOT training run}"
  bash "$src/aot-training.sh" "$stage" "$BENCH_JAR" "$TARGET/aot-training"
else
  echo "build-dist: the runtime is Java $runtime_version: no AOT cache (JDK 25+); bin/relay uses its AppCDS archive" >&2
fi

# reproducible member order and owners; modes as staged (runtime/bin/* and bin/relay executable)
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$TARGET" -czf "$TARGET/$NAME.tar.gz" "$NAME"
(cd "$TARGET" && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")

# what the Debian package holds besides the tarball's bin/, lib/ and runtime/ (under /usr/lib/relay)
deb="$TARGET/deb"
install -d "$deb/etc/relay" "$deb/lib/systemd/system" "$deb/usr/share/doc/relay" "$deb/usr/share/man/man1" \
  "$deb/usr/share/lintian/overrides"
install -m 0644 "$src/relay.yaml" "$deb/etc/relay/relay.yaml"
sed -e 's#/opt/relay/bin/relay#/usr/bin/relay#' -e 's#file:/opt/relay/README.md#man:relay(1)#' \
    -e 's#^\(\# relay on a VM: \).*#\1installed by the Debian package relay; enable and start it with#' \
    "$ROOT/deploy/systemd/relay.service" > "$deb/lib/systemd/system/relay.service"
install -m 0644 "$src/deb/doc/copyright" "$deb/usr/share/doc/relay/copyright"
gzip -9n < "$src/deb/doc/changelog" > "$deb/usr/share/doc/relay/changelog.gz"
gzip -9n < "$ROOT/README.md" > "$deb/usr/share/doc/relay/README.md.gz"
gzip -9n < "$src/deb/doc/relay.1" > "$deb/usr/share/man/man1/relay.1.gz"
install -m 0644 "$src/deb/doc/lintian-overrides" "$deb/usr/share/lintian/overrides/relay"
echo "build-dist: $TARGET/$NAME.tar.gz ($(du -h "$TARGET/$NAME.tar.gz" | cut -f1)), runtime from $JLINK"
