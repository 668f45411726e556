#!/usr/bin/env bash
# Prepares a Debian machine (as root) for haprov's lab and test suite: the system packages the tests
# and the lab need, a running Docker engine, and the test-host image. Safe to rerun: it only does
# what is missing. Used by the README's first commands and by .ci/run.
#
#   scripts/setup-machine.sh                  # install what is missing, start dockerd, build the image
#   scripts/setup-machine.sh --print-missing  # only print the Debian packages it would install
#
# Every test below looks the command up on PATH, so a test can run `--print-missing` with a PATH that
# holds only a docker client and see docker.io asked for (test/unit/setup-machine.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

has() { command -v "$1" >/dev/null 2>&1; }

missing_packages() {
  has sshd || [ -x /usr/sbin/sshd ] || echo openssh-server
  has ssh-keygen || echo openssh-client
  has sudo || echo sudo
  has pgrep || echo procps
  # The engine, not the client: this kind of machine ships a docker client without dockerd, so
  # `command -v docker` answers while no engine can ever start (issue #8).
  has dockerd || echo docker.io
  has debootstrap || echo debootstrap
}

mapfile -t need < <(missing_packages)
if [ "${1:-}" = "--print-missing" ]; then
  [ ${#need[@]} -eq 0 ] || printf '%s\n' "${need[@]}"
  exit 0
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq
  # openssh-server's postinst would start an sshd on port 22: forbid service starts while installing.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
# apt may have put dockerd in /usr/sbin, which a non-login PATH can lack.
has dockerd || export PATH="$PATH:/usr/sbin:/sbin"
has dockerd || { echo "setup: docker.io is installed but dockerd is not on PATH" >&2; exit 1; }

if ! docker info >/dev/null 2>&1; then
  # No engine runs on a fresh machine of this kind: start Debian's dockerd in the background.
  echo "setup: starting dockerd" >&2
  (dockerd >/var/log/haprov-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { cat /var/log/haprov-dockerd.log >&2; echo "setup: dockerd did not start" >&2; exit 1; }
fi

# Each lab host's systemd takes ~5 inotify instances from root's limit (Debian: 128): a 30- or
# 50-host lab (bench/fleet.ts) needs more, or its later hosts never finish booting.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]; then
  echo "setup: fs.inotify.max_user_instances=1024 (room for 50-host labs)" >&2
  echo 1024 > /proc/sys/fs/inotify/max_user_instances
fi

echo "setup: test-host image (debootstrap base when no registry answers; cached afterwards)" >&2
bash docker/build-image.sh >/dev/null
echo "setup: ready" >&2
