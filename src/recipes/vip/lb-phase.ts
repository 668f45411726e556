import { clusterOf, VRRP_MODES } from "../../config/schema.js";
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
import type { HostView, RecipeInput } from "../blocks/view.js";
import type { Endpoint } from "../recipe.js";
import { holdsVip, tcpOpen } from "./gate.js";

/** haproxy's loopback stats page and health endpoint (`/healthz` answers while haproxy runs). */
export const HAPROXY_STATS_PORT = 8404;
export const VRRP_PASSWORD = runKey("vrrpPassword", "the VRRP password the cluster uses", { secret: true });

/** The VRRP password: the inventory's, or the one the hosts already use, or one made up for the first run. */
export const vrrpPasswordOf = (v: HostView): string =>
  clusterOf(v.inventory, VRRP_MODES).vrrpProfile === "fast"
    ? ""
    : (clusterOf(v.inventory, VRRP_MODES).vrrpPassword ?? v.get(VRRP_PASSWORD));

export interface LbPhaseSpec {
  /** The hosts that run keepalived and haproxy. */
  hosts: HostSpec[];
  endpoint: Endpoint;
  haproxyCfg(v: HostView): string;
  checkScript: { path: string; render(v: HostView): string };
  keepalivedConf(v: HostView): string;
  /** net.ipv4.ip_nonlocal_bind=1: only where something binds the VIP itself. */
  nonlocalBind: boolean;
}

/**
 * keepalived + haproxy on `hosts` (REFERENCE.md §1.1, §2.1): haproxy.cfg validated with
 * `haproxy -c` before it replaces the live one, the check script before keepalived.conf (keepalived
 * silently disables a missing or insecure one, §1.5 pitfall 2), keepalived.conf validated with
 * `keepalived -t` (any stderr output fails it too: it exits 0 on several mistakes). Reloads roll one
 * host at a time, the VIP holder last, each healthy again before the next.
 */
export function loadBalancerPhase(input: RecipeInput, s: LbPhaseSpec) {
  const step = stepsOf(input);
  return phase(input, {
    name: "load balancer",
    hosts: s.hosts,
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
      ...(s.nonlocalBind
        ? [
            step({
              name: "VIP sysctls",
              type: sysctlStep,
              params: () => ({ file: "99-haprov-vip.conf", values: { "net.ipv4.ip_nonlocal_bind": "1" } }),
            }),
          ]
        : []),
      step({
        name: "haproxy.cfg",
        type: fileStep,
        notify: ["reload haproxy"],
        params: (v) =>
          managedFile("/etc/haproxy/haproxy.cfg", s.haproxyCfg(v), { validate: "haproxy -c -q -f %s" }),
      }),
      step({
        name: "haproxy running",
        type: serviceStep,
        params: () => ({ name: "haproxy", enabled: true, state: "started" }),
      }),
      step({
        name: s.checkScript.path.split("/").pop()!,
        type: fileStep,
        params: (v) => managedFile(s.checkScript.path, s.checkScript.render(v), { mode: "0755" }),
      }),
      step({
        name: "keepalived.conf",
        type: fileStep,
        notify: ["reload keepalived"],
        params: (v) =>
          managedFile("/etc/keepalived/keepalived.conf", s.keepalivedConf(v), {
            mode: "0640",
            secret: true,
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
        healthy: () => tcpOpen(s.endpoint),
      }),
    ],
    rollLast: () => holdsVip(s.endpoint.host),
  });
}
