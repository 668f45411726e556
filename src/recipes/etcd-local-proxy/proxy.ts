import { clusterOf } from "../../config/schema.js";
import { sh } from "../../core/quote.js";
import type { HostSpec } from "../../core/host.js";
import { commandStep } from "../../steps/command.js";
import { fileStep } from "../../steps/file.js";
import { packageStep } from "../../steps/package.js";
import { serviceStep } from "../../steps/service.js";
import { managedFile } from "../blocks/files.js";
import { phase, serviceHandler } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import { renderHaproxyCfg } from "../vip/haproxy-cfg.js";
import { HAPROXY_STATS_PORT } from "../vip/lb-phase.js";

/**
 * Design E's local API proxy (REFERENCE.md §5.1): on every Kubernetes node, 127.0.0.1:lbPort in front
 * of every API server — haproxy with TLS /readyz checks, or nginx's stream module (passive checks
 * only). It runs before the node joins: join discovery follows the cluster-info server, which is
 * this address (§5.4 pitfall 4).
 */
export type ProxyKind = "haproxy" | "nginx";
/** The line by which haprov knows a proxy config as its own (it stops only a proxy it set up). */
export const PROXY_MARK = "Managed by haprov (local API proxy)";
export const NGINX_CONF = "/etc/nginx/nginx.conf";
export const HAPROXY_CFG = "/etc/haproxy/haproxy.cfg";
/** Debian's path of the stream module (package libnginx-mod-stream). */
const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

const backendsOf = (hosts: HostSpec[]) =>
  byRole(hosts, "control-plane").map((h) => ({ name: h.name, address: h.address }));

export function localHaproxyCfg(v: Pick<HostView, "hosts" | "inventory">): string {
  return renderHaproxyCfg({
    lbPort: v.inventory.cluster.lbPort,
    apiServerPort: v.inventory.cluster.apiServerPort,
    backends: backendsOf(v.hosts),
    statsPort: HAPROXY_STATS_PORT,
    healthPath: "/readyz",
    bindAddress: "127.0.0.1",
  }).replace("# Managed by haprov:", `# ${PROXY_MARK}:`);
}

/**
 * nginx.conf for the stream proxy. Open-source nginx has passive checks only: a server that refuses
 * or times out the connection is skipped (proxy_next_upstream) and left alone for fail_timeout.
 */
export function localNginxConf(v: Pick<HostView, "hosts" | "inventory">): string {
  const c = v.inventory.cluster;
  const servers = backendsOf(v.hosts)
    .map((b) => `        server ${b.address}:${c.apiServerPort} max_fails=1 fail_timeout=10s;`)
    .join("\n");
  return `# ${PROXY_MARK}: changes here are put back on the next run.
load_module ${NGINX_STREAM_MODULE};
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;

events {
    worker_connections 1024;
}

stream {
    upstream kube_apiserver {
        least_conn;
${servers}
    }
    server {
        listen 127.0.0.1:${c.lbPort};
        proxy_pass kube_apiserver;
        # a dead API server costs one short connect timeout, then the next one is tried
        proxy_connect_timeout 1s;
        proxy_next_upstream on;
        proxy_next_upstream_tries 3;
        # watch/exec/logs -f streams live long (REFERENCE.md §1.5 pitfall 8)
        proxy_timeout 1h;
    }
}
`;
}

const listening = (port: number) => sh`ss -Hltn ${`sport = :${port}`} | grep -q .`;

/** The proxy that is not chosen, stopped and disabled where haprov had set it up. */
function other(kind: ProxyKind): { unit: ProxyKind; conf: string } {
  return kind === "haproxy" ? { unit: "nginx", conf: NGINX_CONF } : { unit: "haproxy", conf: HAPROXY_CFG };
}

export function localProxyPhase(input: RecipeInput) {
  const step = stepsOf(input);
  const kind = clusterOf(input.inventory, ["etcd-local-proxy"]).localProxy.proxy;
  const port = input.inventory.cluster.lbPort;
  const nodes = input.hosts.filter((h) => h.roles.includes("control-plane") || h.roles.includes("worker"));
  const off = other(kind);
  return phase(input, {
    name: "local proxy",
    hosts: nodes,
    steps: [
      step({
        name: kind === "haproxy" ? "haproxy package" : "nginx and its stream module",
        type: packageStep,
        params: () => ({
          names: kind === "haproxy" ? ["haproxy", "curl"] : ["nginx", "libnginx-mod-stream", "curl"],
          rhel: {
            names: kind === "haproxy" ? ["haproxy", "curl"] : ["nginx", "nginx-mod-stream", "curl"],
            enableRepos: [],
          },
        }),
      }),
      kind === "haproxy"
        ? step({
            name: "haproxy.cfg",
            type: fileStep,
            notify: ["reload haproxy"],
            params: (v) => managedFile(HAPROXY_CFG, localHaproxyCfg(v), { validate: "haproxy -c -q -f %s" }),
          })
        : step({
            name: "nginx.conf",
            type: fileStep,
            notify: ["reload nginx"],
            params: (v) => managedFile(NGINX_CONF, localNginxConf(v), { validate: "nginx -t -q -c %s" }),
          }),
      // Switching proxies: the other one (only where it is haprov's) goes, and the chosen one is
      // restarted at once, so this node is without a proxy for a moment, not until the handlers.
      step({
        name: `${off.unit} stopped (proxy: ${kind})`,
        type: commandStep,
        params: () => ({
          run: sh`systemctl disable --now ${off.unit} >/dev/null 2>&1; systemctl restart ${kind}`,
          unless: sh`! grep -qs ${PROXY_MARK} ${off.conf} || { ! systemctl is-active --quiet ${off.unit} && ! systemctl is-enabled --quiet ${off.unit} 2>/dev/null; }`,
          secret: false,
        }),
      }),
      step({
        name: `${kind} running`,
        type: serviceStep,
        params: () => ({ name: kind, enabled: true, state: "started" as const }),
      }),
    ],
    handlers: [
      serviceHandler({
        name: `reload ${kind}`,
        unit: kind,
        action: "reload",
        // one node at a time: a node's clients have only this proxy. Its check (listening on
        // 127.0.0.1:lbPort) is also the barrier before anything joins through it.
        serial: true,
        healthy: () => listening(port),
      }),
    ],
  });
}
