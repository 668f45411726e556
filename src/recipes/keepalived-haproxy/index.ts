import type { HostSpec } from "../../core/host.js";
import { quote } from "../../core/quote.js";
import { UnknownValueError } from "../../core/step.js";
import type { Template, TemplateInput } from "../template.js";
import { renderCheckScript } from "./check-script.js";
import { renderHaproxyCfg } from "./haproxy-cfg.js";
import { renderKeepalivedConf } from "./keepalived-conf.js";

/** haproxy's loopback stats page and health endpoint (`/healthz` answers while haproxy runs). */
export const HAPROXY_STATS_PORT = 8404;
export const CHECK_SCRIPT_PATH = "/etc/keepalived/check_apiserver.sh";

/** The probe for "this host holds the VIP right now" (exit 0). */
export const holdsVip = (vip: string) => `ip -4 -o addr show | grep -q ${quote(` ${vip}/`)}`;

export const controlPlane = (hosts: HostSpec[]) => hosts.filter((h) => h.roles.includes("control-plane"));

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

const vipOf = (i: TemplateInput) => {
  const vip = i.inventory.cluster.vip;
  if (!vip) throw new Error("cluster.vip is required for this template");
  return vip;
};

export const haproxyCfg: Template = (i) =>
  renderHaproxyCfg({
    lbPort: i.inventory.cluster.lbPort,
    apiServerPort: i.inventory.cluster.apiServerPort,
    backends: controlPlane(i.hosts).map((h) => ({ name: h.name, address: h.address })),
    statsPort: HAPROXY_STATS_PORT,
  });

export const checkApiserver: Template = (i) =>
  renderCheckScript({
    lbPort: i.inventory.cluster.lbPort,
    statsPort: HAPROXY_STATS_PORT,
    vip: vipOf(i),
    interface: i.host.interface,
  });

/**
 * The VRRP password: the inventory's when it sets one, otherwise the value the cluster's hosts
 * already use (gathered), or one generated for the first run — never stored on the operator's side.
 */
export const keepalivedConf: Template = (i) => {
  const cps = controlPlane(i.hosts);
  const c = i.inventory.cluster;
  const password = c.vrrpPassword ?? i.values.vrrpPassword;
  // Offline (render) the generated password is not known: it is made on the first run.
  if (c.vrrpProfile !== "fast" && !password) throw new UnknownValueError("registered.vrrpPassword");
  return renderKeepalivedConf({
    routerId: i.host.name,
    interface: i.host.interface,
    virtualRouterId: c.virtualRouterId,
    priority: priorities(cps).get(i.host.name)!,
    selfAddress: i.host.address,
    peers: cps.filter((h) => h.name !== i.host.name).map((h) => h.address),
    vip: vipOf(i),
    vipPrefix: c.vipPrefix,
    password: password ?? "",
    checkScript: CHECK_SCRIPT_PATH,
    profile: c.vrrpProfile,
  });
};
