#!/usr/bin/env bash
# Prepares a Debian machine (as root) for haprov's lab and test suite: the system packages the tests
# and the lab need, a running Docker engine, and the test-host image. Safe to rerun: it only does
# what is missing. Used by the README's first commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
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

if ! docker info >/dev/null 2>&1; then
  # No engine runs on a fresh machine of this kind: start Debian's dockerd in the background.
  echo "setup: starting dockerd" >&2
  (dockerd >/var/log/haprov-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { cat /var/log/haprov-dockerd.log >&2; echo "setup: dockerd did not start" >&2; exit 1; }
fi

echo "setup: test-host image (debootstrap base when no registry answers; cached afterwards)" >&2
bash docker/build-image.sh >/dev/null
echo "setup: ready" >&2
