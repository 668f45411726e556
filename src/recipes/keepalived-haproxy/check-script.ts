/**
 * /etc/keepalived/check_apiserver.sh (mode 0755, root): healthy only if an API server answers through
 * this node's haproxy, and — when this node holds the VIP — through the VIP too (REFERENCE.md §1.1).
 */
export interface CheckScriptInput {
  lbPort: number;
  vip: string;
  interface: string;
}

export function renderCheckScript(i: CheckScriptInput): string {
  return `#!/bin/sh
# Managed by haprov. keepalived's track_script: exit 0 = healthy.
curl -sfk --max-time 2 -o /dev/null https://127.0.0.1:${i.lbPort}/healthz || exit 1
if ip -4 -o addr show dev ${i.interface} | grep -q " ${i.vip}/"; then
    curl -sfk --max-time 2 -o /dev/null https://${i.vip}:${i.lbPort}/healthz || exit 1
fi
exit 0
`;
}
