#!/usr/bin/env bash
# Builds haprov's test-host image: Debian bookworm with systemd as PID 1, sshd and sudo users —
# without keepalived/haproxy, which haprov itself must install.
#
#   docker/build-image.sh            # prints the image name when done
#
# The base comes from `docker pull debian:bookworm` when a registry answers; otherwise (this kind of
# machine has none) it is built from Debian packages with debootstrap and `docker import`, using the
# mirror from this machine's own apt sources. Both the base and the layers on top are cached: a
# second run with nothing changed takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${HAPROV_TESTHOST_IMAGE:-haprov-testhost:latest}
BASE_IMAGE=${HAPROV_BASE_IMAGE:-haprov-bookworm-base:latest}
export DOCKER_BUILDKIT=0 # no buildx on Debian's docker.io (LAB-NOTES.md)

log() { printf 'build-image: %s\n' "$*" >&2; }

# First URI of the deb822 (or one-line) apt source serving $1 (e.g. bookworm, bookworm-security).
apt_mirror() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      BEGIN { RS=""; FS="\n" }
      {
        uri=""; ok=0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split(substr($i, 6), u, " "); uri=u[1] }
          if ($i ~ /^Suites:/) { n=split(substr($i, 8), s, " "); for (j = 1; j <= n; j++) if (s[j] == suite) ok=1 }
        }
        if (ok && uri != "") { print uri; exit }
      }' "$f"
  done | head -n 1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { u = $(i - 1); if (u ~ /^\[/) u = $(i - 2); print u; exit } }' | head -n 1 | grep .
}

build_base() {
  if timeout 30 docker pull -q debian:bookworm >/dev/null 2>&1; then
    log "base: pulled debian:bookworm"
    docker tag debian:bookworm "$BASE_IMAGE"
    return
  fi
  command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install debootstrap"; exit 1; }
  local mirror security root
  mirror=$(apt_mirror bookworm) || { log "no bookworm mirror in this machine's apt sources"; exit 1; }
  security=$(apt_mirror bookworm-security || true)
  root=$(mktemp -d /var/tmp/haprov-rootfs.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  log "base: debootstrap bookworm from $mirror (no registry reachable)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,iproute2,sudo,ca-certificates,curl,procps,iptables,openssl,python3,python3-yaml,less \
    bookworm "$root" "$mirror" >/dev/null
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [ -n "$security" ] && echo "deb $security bookworm-security main"
  } > "$root/etc/apt/sources.list"
  # This machine's mirror may serve an archive snapshot whose Release files have expired: carry the
  # host's Check-Valid-Until setting into the image, or apt-get update fails in the containers.
  grep -rhs 'Check-Valid-Until' /etc/apt/apt.conf /etc/apt/apt.conf.d/ > "$root/etc/apt/apt.conf.d/99haprov-host" || true
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/etc/hostname "$root"/etc/ssh/ssh_host_*
  tar --numeric-owner -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
  log "base: imported $BASE_IMAGE"
}

# The machine's real kubectl for the lab's Kubernetes minor, if it has one (Google's kubectl package
# ships static binaries kubectl.1.NN): copied into the build context, never committed.
stage_kubectl() {
  local minor real
  minor=$(sed -E 's/^v([0-9]+\.[0-9]+)\..*/\1/' "$here/testhost/standin/VERSION")
  rm -f "$here/testhost/kubectl/kubectl"
  real=$(dpkg -L kubectl 2>/dev/null | grep -E "/kubectl\.${minor//./\\.}\$" | head -n 1 || true)
  if [ -n "$real" ] && [ -x "$real" ]; then
    cp "$real" "$here/testhost/kubectl/kubectl"
    log "kubectl: the real $real ($("$real" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p' | head -n 1))"
  else
    log "kubectl: no real kubectl $minor on this machine (dpkg -L kubectl): the image gets the Python stand-in"
  fi
}

docker info >/dev/null 2>&1 || { log "no Docker engine answers (start dockerd, or see .ci/run)"; exit 1; }
stage_kubectl
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || build_base
log "image: $IMAGE on $BASE_IMAGE"
docker build -q --force-rm --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" "$here/testhost" >/dev/null
echo "$IMAGE"
