/**
 * /etc/haproxy/haproxy.cfg for the haproxy designs (REFERENCE.md §1.1, §2.1): a TCP frontend on the
 * LB port in front of every control-plane node's API server, health-checked over TLS (design A with
 * GET /healthz, the LB pair with GET /readyz, §0.3).
 * Identical bytes on every node and on every run (no timestamps), so reruns never restart haproxy.
 */
export interface HaproxyInput {
  lbPort: number;
  apiServerPort: number;
  backends: { name: string; address: string }[];
  /** Loopback stats/health endpoint (`/healthz` answers 200 while haproxy runs). */
  statsPort: number;
  /** The API servers' health path (default /healthz). */
  healthPath?: string;
  /** Where the frontend binds (default every address; design E's local proxy: 127.0.0.1). */
  bindAddress?: string;
}

export function renderHaproxyCfg(i: HaproxyInput): string {
  const servers = i.backends.map((b) => `    server ${b.name} ${b.address}:${i.apiServerPort}`).join("\n");
  return `# Managed by haprov: changes here are put back on the next run.
global
    log /dev/log local0
    maxconn 4096
    daemon

defaults
    mode tcp
    log global
    option tcplog
    option dontlognull
    # A dead API server (its node gone: no RST, no ARP answer) costs one short connect timeout,
    # then the retry goes to another server (redispatch on every retry), not three retries to it.
    option redispatch 1
    retries 3
    timeout connect 1s
    # watch/exec/logs -f streams live long (REFERENCE.md §1.5 pitfall 8)
    timeout client 1h
    timeout server 1h
    timeout check 5s

frontend k8s_api
    bind ${i.bindAddress ?? "*"}:${i.lbPort}
    default_backend k8s_api

backend k8s_api
    balance roundrobin
    option httpchk GET ${i.healthPath ?? "/healthz"}
    http-check expect status 200
    # Down after two failed checks ~1 s apart at worst (a check's connect waits min(inter, timeout
    # connect)), so a killed node leaves the rotation before or as the VIP moves (REFERENCE.md §6.4).
    default-server inter 500ms fastinter 250ms fall 2 rise 2 check check-ssl verify none
${servers}

frontend stats
    bind 127.0.0.1:${i.statsPort}
    mode http
    monitor-uri /healthz
    stats enable
    stats uri /stats
    stats show-legends
`;
}
