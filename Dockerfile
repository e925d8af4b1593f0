# syntax=docker/dockerfile:1
# relay: an authenticated SMTP relay. Build and run (see README.md, "Deploying"):
#   docker build -t relay .
#   docker run --rm -v /srv/relay/etc:/etc/relay:ro -v relay-spool:/var/spool/relay -p 587:587 -p 465:465 \
#       -p 127.0.0.1:9090:9090 relay                      # /etc/relay/relay.yaml from the mounted directory
#   docker run --rm -e RELAY_UPSTREAMS_0_URL=... ... relay serve   # or configuration from RELAY_* alone

# ---- build: the same command as the README's quick start, for the relay-server module and what it needs
# Maven reads every module the root pom.xml lists before it builds any, so each one's pom.xml must be copied, even
# of the modules the image does not build ("Child module ... does not exist" otherwise). A module added to
# <modules> needs one line here: COPY <module>/pom.xml <module>/pom.xml (COPY <module> <module> with its sources
# if relay-server comes to depend on it). DockerfileBuildContextTest (mvn verify) lays this stage's context out
# from these lines and .dockerignore and runs its mvn command there; it fails until the line is added.
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY pom.xml ./
# the modules relay-server is built from: pom.xml and sources (relay-testkit: relay-core's tests use it, and -am
# builds every module a module depends on, test scope too)
COPY relay-testkit relay-testkit
COPY relay-config relay-config
COPY relay-core relay-core
COPY relay-history relay-history
COPY relay-server relay-server
# the other modules: their pom.xml only
COPY relay-bench/pom.xml relay-bench/pom.xml
COPY integration-tests/pom.xml integration-tests/pom.xml
COPY relay-dist/pom.xml relay-dist/pom.xml
# the Maven repository is a build cache (BuildKit), not a layer of the image
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -ntp -pl relay-server -am package -DskipTests

# ---- runtime: a JRE, the launcher, the relay's jar and its libraries
FROM eclipse-temurin:21-jre

# a fixed uid/gid (not 1000: the base image's own user has it) so volumes and Kubernetes'
# runAsUser/fsGroup can name it
ARG uid=10001
RUN groupadd --system --gid "${uid}" relay \
 && useradd --system --uid "${uid}" --gid relay --home-dir /var/spool/relay --no-create-home \
        --shell /usr/sbin/nologin relay \
 && mkdir -p /etc/relay /var/spool/relay /opt/relay/cds \
 && chown relay:relay /var/spool/relay /opt/relay/cds \
 && chmod 0750 /var/spool/relay

COPY --chmod=0755 bin/relay /opt/relay/bin/relay
COPY --from=build /src/relay-server/target/relay-server.jar /opt/relay/lib/relay-server.jar
COPY --from=build /src/relay-server/target/lib/ /opt/relay/lib/

# The admin endpoint (/metrics, /healthz, /readyz) must be reachable from outside the container for probes and
# Prometheus; an environment variable overrides the file, so set RELAY_ADMIN_BIND to move it. The launcher sizes
# the heap from the container's memory limit (half of it, at most 768 MiB; docs/performance.md, "Memory"), and the
# JVM exits on OutOfMemoryError so the orchestrator restarts it (the spool keeps every acknowledged message).
ENV RELAY_ADMIN_BIND=0.0.0.0:9090 \
    RELAY_JAVA_OPTS="-XX:+ExitOnOutOfMemoryError"

# The launcher's AppCDS archive for `serve` (written when the JVM stops, mapped at every later start): in a
# directory of its own that the relay user may write. The launcher's default would be $HOME/.cache/relay, as
# /opt/relay/lib is root's, and the relay user's home is the spool volume, which is the queue's alone. The archive
# is in the container's layer: a container writes it at its first stop and uses it from its next start on.
# RELAY_CDS_ARCHIVE= (empty) turns it off. (The release tarball's AOT cache, lib/relay.aot, is not here: it needs
# the JDK 25 runtime it was made with, and this image runs a Java 21 JRE, which has no AOT cache.)
ENV RELAY_CDS_ARCHIVE=/opt/relay/cds/relay-serve.jsa

USER relay:relay
WORKDIR /var/spool/relay
VOLUME ["/var/spool/relay"]
# 587 submission (STARTTLS), 465 submissions (implicit TLS), 9090 admin. The image binds ports below 1024 as a
# non-root user where the runtime allows it (Docker >= 20.10 and containerd >= 2.0 set
# net.ipv4.ip_unprivileged_port_start=0); elsewhere listen on 2587/2465 and map the ports (deploy/kubernetes).
EXPOSE 587 465 9090

# no curl in the image: bash's /dev/tcp sends GET /healthz and looks for a 200 status line
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 4 _ status _ <&3 && [ \"$status\" = 200 ]"]

# SIGTERM: listeners close first, sessions in DATA and deliveries get the grace period (serve --grace, 20s),
# everything not delivered stays in the spool
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/relay/bin/relay"]
CMD ["serve", "--config", "/etc/relay/relay.yaml"]
