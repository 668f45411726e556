import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import type { KubeadmOptions } from "../kubeadm/index.js";
import { renderHaproxyCfg } from "./haproxy-cfg.js";
import { HAPROXY_STATS_PORT } from "./lb-phase.js";
import { vipEndpoint } from "./rules.js";

/**
 * What the designs with haproxy on every control-plane node behind a VIP share (A: keepalived
 * holds the VIP; D: Pacemaker does): haproxy's backends, and kubeadm behind the VIP.
 */
export function controlPlaneHaproxyCfg(v: Pick<HostView, "hosts" | "inventory">): string {
  return renderHaproxyCfg({
    lbPort: v.inventory.cluster.lbPort,
    apiServerPort: v.inventory.cluster.apiServerPort,
    backends: byRole(v.hosts, "control-plane").map((h) => ({ name: h.name, address: h.address })),
    statsPort: HAPROXY_STATS_PORT,
  });
}

/** kubeadm behind the VIP: the endpoint is VIP:lbPort, the certificate names the VIP and every node. */
export function controlPlaneKubeadmOptions(input: Pick<RecipeInput, "inventory" | "hosts">): KubeadmOptions {
  const endpoint = vipEndpoint(input.inventory);
  return {
    endpoint,
    via: "through the VIP",
    certSANs: [endpoint.host, ...byRole(input.hosts, "control-plane").map((h) => h.address)],
  };
}
