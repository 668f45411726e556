import type { HostSpec } from "../../core/host.js";
import type { BoundStep } from "../../core/step.js";
import { serviceStep } from "../../steps/service.js";
import { filesAbsent } from "../blocks/absent.js";
import { phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import type { RemovalInput } from "../recipe.js";

/** A unit stopped and disabled on a node that leaves: it must not come back at its next boot. */
export function serviceGone(r: RemovalInput, unit: string): BoundStep {
  return stepsOf(r)({
    name: `${unit} stopped and disabled`,
    type: serviceStep,
    params: () => ({ name: unit, enabled: false, state: "stopped" as const }),
  });
}

/**
 * The VIP given up by the node that leaves (issue #21): its keepalived stopped and disabled — on
 * stopping, keepalived sends a priority-0 advertisement, so the best survivor takes the VIP at once
 * instead of after the master-down timer. The survivors were re-rendered before, so the new holder
 * already balances without the node.
 */
export function vipReleasePhase(r: RemovalInput, node: HostSpec) {
  return phase(r, { name: "vip off the node", hosts: [node], steps: [serviceGone(r, "keepalived")] });
}

/** What keepalived + haproxy leave on a removed node: both stopped and disabled, haprov's configs removed. */
export function keepalivedHaproxyCleanup(r: RemovalInput, checkScript: string): BoundStep[] {
  return [
    serviceGone(r, "keepalived"),
    serviceGone(r, "haproxy"),
    filesAbsent("keepalived and haproxy configs removed", [
      "/etc/keepalived/keepalived.conf",
      checkScript,
      "/etc/haproxy/haproxy.cfg",
    ]),
  ];
}
