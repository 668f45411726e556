import type { Inventory } from "../../config/schema.js";
import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import { fileStep } from "../../steps/file.js";
import { packageStep } from "../../steps/package.js";
import { serviceStep } from "../../steps/service.js";
import { sysctlStep } from "../../steps/sysctl.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase, serviceHandler } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import { kubeadmPhases, type KubeadmOptions } from "../kubeadm/index.js";
import { INIT_NODE } from "../kubeadm/values.js";
import type { Recipe } from "../recipe.js";
import { holdsVip, tcpOpen, VIP_HOLDER, vipGatePhase } from "../vip/gate.js";
import { priorityRules, vipEndpoint, vipRules } from "../vip/rules.js";
import { renderCheckScript } from "./check-script.js";
import { renderHaproxyCfg } from "./haproxy-cfg.js";
import { renderKeepalivedConf } from "./keepalived-conf.js";
import { lbStatus } from "./status.js";

/** haproxy's loopback stats page and health endpoint (`/healthz` answers while haproxy runs). */
export const HAPROXY_STATS_PORT = 8404;
export const CHECK_SCRIPT_PATH = "/etc/keepalived/check_apiserver.sh";
export const VRRP_PASSWORD = runKey("vrrpPassword", "the VRRP password the cluster uses", { secret: true });

/**
 * VRRP priorities: a host's `priority` when the inventory gives one, otherwise 150, 149, … in
 * inventory order, skipping values taken by an explicit priority (they must stay distinct).
 */
export function priorities(hosts: HostSpec[]): Map<string, number> {
  const explicit = new Map(
    hosts.flatMap((h) => (h.priority === undefined ? [] : [[h.name, h.priority] as const])),
  );
  const taken = new Set(explicit.values());
  const out = new Map<string, number>();
  let next = 150;
  for (const h of hosts) {
    const own = explicit.get(h.name);
    if (own !== undefined) {
      out.set(h.name, own);
      continue;
    }
    while (taken.has(next)) next--;
    out.set(h.name, next);
    taken.add(next--);
  }
  return out;
}

const vipOf = (inv: Inventory) => inv.cluster.vip!;

export function haproxyCfgFor(v: Pick<HostView, "hosts" | "inventory">): string {
  return renderHaproxyCfg({
    lbPort: v.inventory.cluster.lbPort,
    apiServerPort: v.inventory.cluster.apiServerPort,
    backends: byRole(v.hosts, "control-plane").map((h) => ({ name: h.name, address: h.address })),
    statsPort: HAPROXY_STATS_PORT,
  });
}

export function checkScriptFor(v: Pick<HostView, "host" | "inventory">): string {
  return renderCheckScript({
    lbPort: v.inventory.cluster.lbPort,
    statsPort: HAPROXY_STATS_PORT,
    vip: vipOf(v.inventory),
    interface: v.host.interface,
  });
}

/**
 * The VRRP password: the inventory's when it sets one, otherwise the value the cluster's hosts
 * already use (gathered), or one generated for the first run — never stored on the operator's side.
 */
export function keepalivedConfFor(v: HostView): string {
  const cps = byRole(v.hosts, "control-plane");
  const c = v.inventory.cluster;
  const password = c.vrrpProfile === "fast" ? "" : (c.vrrpPassword ?? v.get(VRRP_PASSWORD));
  return renderKeepalivedConf({
    routerId: v.host.name,
    interface: v.host.interface,
    virtualRouterId: c.virtualRouterId,
    priority: priorities(cps).get(v.host.name)!,
    selfAddress: v.host.address,
    peers: cps.filter((h) => h.name !== v.host.name).map((h) => h.address),
    vip: vipOf(v.inventory),
    vipPrefix: c.vipPrefix,
    password,
    checkScript: CHECK_SCRIPT_PATH,
    profile: c.vrrpProfile,
  });
}

/**
 * keepalived + haproxy on every control-plane node (REFERENCE.md §1.1): haproxy validated with
 * `haproxy -c` before it replaces the live config, the check script before keepalived.conf,
 * keepalived.conf validated with `keepalived -t` (any stderr fails it too). Reloads roll one host
 * at a time, the VIP holder last, each healthy again before the next.
 */
function loadBalancerPhase(input: RecipeInput) {
  const step = stepsOf(input);
  const endpoint = designA.endpoint(input.inventory);
  return phase(input, {
    name: "load balancer",
    hosts: byRole(input.hosts, "control-plane"),
    requires: "any",
    gather: [
      // The VRRP password the cluster already uses, so a rerun keeps it; the first run makes one
      // up. It lives in keepalived.conf (0640 root) and in memory, never on the operator's disk.
      gatherInto(
        VRRP_PASSWORD,
        () =>
          sh`sed -n 's/^[[:space:]]*auth_pass[[:space:]]*//p' /etc/keepalived/keepalived.conf 2>/dev/null | head -n 1`,
        { generate: { length: 8 } },
      ),
    ],
    steps: [
      step({
        name: "keepalived and haproxy packages",
        type: packageStep,
        params: () => ({ names: ["keepalived", "haproxy"] }),
      }),
      step({
        name: "VIP sysctls",
        type: sysctlStep,
        params: () => ({ file: "99-haprov-vip.conf", values: { "net.ipv4.ip_nonlocal_bind": "1" } }),
      }),
      step({
        name: "haproxy.cfg",
        type: fileStep,
        notify: ["reload haproxy"],
        params: (v) =>
          managedFile("/etc/haproxy/haproxy.cfg", haproxyCfgFor(v), { validate: "haproxy -c -q -f %s" }),
      }),
      step({
        name: "haproxy running",
        type: serviceStep,
        params: () => ({ name: "haproxy", enabled: true, state: "started" }),
      }),
      // The script first: keepalived silently disables a missing or insecure one (§1.5 pitfall 2).
      step({
        name: "check_apiserver.sh",
        type: fileStep,
        params: (v) => managedFile(CHECK_SCRIPT_PATH, checkScriptFor(v), { mode: "0755" }),
      }),
      step({
        name: "keepalived.conf",
        type: fileStep,
        notify: ["reload keepalived"],
        params: (v) =>
          managedFile("/etc/keepalived/keepalived.conf", keepalivedConfFor(v), {
            mode: "0640",
            secret: true,
            // keepalived -t exits 0 on several mistakes and only warns: any stderr output fails too.
            validate: { command: "keepalived -t -f %s", failOnStderr: true },
          }),
      }),
      step({
        name: "keepalived running",
        type: serviceStep,
        params: () => ({ name: "keepalived", enabled: true, state: "started" }),
      }),
    ],
    handlers: [
      serviceHandler({
        name: "reload haproxy",
        unit: "haproxy",
        action: "reload",
        serial: true,
        healthy: () =>
          sh`curl -sf --max-time 2 -o /dev/null ${`http://127.0.0.1:${HAPROXY_STATS_PORT}/healthz`}`,
      }),
      serviceHandler({
        name: "reload keepalived",
        unit: "keepalived",
        action: "reload",
        serial: true,
        healthy: () => tcpOpen(endpoint),
      }),
    ],
    rollLast: () => holdsVip(vipOf(input.inventory)),
  });
}

/** kubeadm behind the VIP: the endpoint is VIP:lbPort, the certificate names the VIP and every node. */
export function kubeadmOptions(input: Pick<RecipeInput, "inventory" | "hosts">): KubeadmOptions {
  const endpoint = vipEndpoint(input.inventory);
  return {
    endpoint,
    via: "through the VIP",
    certSANs: [endpoint.host, ...byRole(input.hosts, "control-plane").map((h) => h.address)],
  };
}

/** Design A (the default): keepalived VIP + haproxy on every control-plane node, kubeadm behind them. */
export const designA: Recipe = {
  mode: "keepalived-haproxy",
  title: "keepalived VIP + haproxy on every control-plane node, kubeadm init/join, flannel",
  values: [VRRP_PASSWORD, VIP_HOLDER, INIT_NODE],
  phases(input) {
    const endpoint = designA.endpoint(input.inventory);
    const cps = byRole(input.hosts, "control-plane");
    return kubeadmPhases(input, kubeadmOptions(input), {
      lb: [loadBalancerPhase(input), vipGatePhase(input, cps, endpoint, "control-plane node")],
    });
  },
  rules: (inv) => [
    ...vipRules(inv, "control-plane"),
    ...priorityRules(inv, "control-plane"),
    ...(inv.cluster.lbPort === inv.cluster.apiServerPort
      ? [
          {
            path: ["cluster", "lbPort"],
            message: `must differ from the API server port ${inv.cluster.apiServerPort}: the load balancer runs on control-plane nodes, where kube-apiserver already binds *:${inv.cluster.apiServerPort} (use 8443)`,
            severity: "error" as const,
          },
        ]
      : []),
  ],
  endpoint: vipEndpoint,
  operatorEndpoint: (inv) => ({ ...vipEndpoint(inv), why: "the VIP and the load balancer's port" }),
  status: lbStatus,
  lab: {
    hosts: (n) => Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane"] })),
    cluster: (vip) => [
      `vip: ${vip.address}`,
      `vipPrefix: ${vip.prefix}`,
      "interface: eth0",
      "lbPort: 8443",
      "virtualRouterId: 51",
    ],
  },
};
