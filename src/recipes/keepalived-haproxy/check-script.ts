import { sh } from "../../core/quote.js";

/**
 * /etc/keepalived/check_apiserver.sh (mode 0755, root), keepalived's track_script (exit 0 = healthy).
 *
 * Healthy means: this node's haproxy answers on its loopback health endpoint, and — once this node
 * runs an API server (its kube-apiserver manifest exists) — an API server answers through this
 * node's haproxy, and through the VIP when this node holds it (REFERENCE.md §1.1).
 *
 * The manifest test is haprov's answer to the bootstrap problem: the script has no weight (with
 * nopreempt only FAULT moves the VIP, §1.5 pitfall 1), so if it required an API server before any
 * exists, every node would sit in FAULT and no node would hold the VIP that `kubeadm init` and the
 * joins need (the gate before init waits for exactly one holder). A node that does not run an API
 * server yet only forwards, so its haproxy being up is what matters for it.
 *
 * Every value is quoted by `sh` (issue #8): the script runs as root.
 */
export interface CheckScriptInput {
  lbPort: number;
  statsPort: number;
  vip: string;
  interface: string;
}

export const APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";

export function renderCheckScript(i: CheckScriptInput): string {
  return `#!/bin/sh
# Managed by haprov. keepalived's track_script: exit 0 = healthy.
${sh`curl -sf --max-time 2 -o /dev/null ${`http://127.0.0.1:${i.statsPort}/healthz`} || exit 1`}
${sh`[ -f ${APISERVER_MANIFEST} ] || exit 0`}
${sh`curl -sfk --max-time 2 -o /dev/null ${`https://127.0.0.1:${i.lbPort}/healthz`} || exit 1`}
${sh`if ip -4 -o addr show dev ${i.interface} | grep -q ${` ${i.vip}/`}; then`}
    ${sh`curl -sfk --max-time 2 -o /dev/null ${`https://${i.vip}:${i.lbPort}/healthz`} || exit 1`}
fi
exit 0
`;
}
