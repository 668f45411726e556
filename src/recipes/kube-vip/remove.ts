import { clusterOf, type Inventory } from "../../config/schema.js";
import { sh } from "../../core/quote.js";
import { waitStep } from "../../steps/wait.js";
import { filesAbsent } from "../blocks/absent.js";
import { phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole } from "../blocks/view.js";
import type { Endpoint, NodeRemovalHooks } from "../recipe.js";
import { holdsVip, vipGatePhase } from "../vip/gate.js";
import { BGP_PEERS_FILE, KUBE_VIP_MANIFEST } from "./manifest.js";

/**
 * kube-vip's part of a node removal (issue #21): the node's kube-vip manifest removed first, so
 * its kubelet stops the static pod — a leader gives up the Lease and the VIP (ARP) or withdraws its
 * route (BGP) as it terminates — and the VIP answers from a survivor before anything else on the
 * node stops. There is no load balancer to re-render: each node's kube-vip forwards nothing.
 */
export function kubeVipRemoval(
  endpointOf: (inv: Inventory) => Endpoint,
  kubeadm: NodeRemovalHooks["kubeadm"],
): NodeRemovalHooks {
  return {
    stackedEtcd: true,
    kubeadm,
    outOfRotation(r) {
      const e = endpointOf(r.inventory);
      const bgp = clusterOf(r.inventory, ["kube-vip"]).kubeVip.bgp !== undefined;
      const node = r.node.reachable && r.node.spec?.roles.includes("control-plane") ? r.node.spec : undefined;
      const step = stepsOf(r);
      const answering = sh`curl -sfk --max-time 2 -o /dev/null ${`https://${e.host}:${e.port}/readyz`}`;
      return [
        ...(node
          ? [
              phase(r, {
                name: "vip off the node",
                hosts: [node],
                steps: [
                  filesAbsent("kube-vip manifest removed", [KUBE_VIP_MANIFEST]),
                  step({
                    name: bgp ? "kube-vip stopped" : "VIP released",
                    type: waitStep,
                    params: () => ({
                      // BGP: the VIP sits on lo of every node; kube-vip gone is what counts
                      until: bgp ? "! pgrep -x kube-vip >/dev/null" : `! { ${holdsVip(e.host)}; }`,
                      what: bgp ? "kube-vip has stopped on this node" : "this node no longer holds the VIP",
                      timeoutSec: 60,
                    }),
                  }),
                ],
              }),
            ]
          : []),
        ...(bgp ? [] : [vipGatePhase(r, byRole(r.hosts, "control-plane"), e, "control-plane node")]),
        phase(r, {
          name: "endpoint answers",
          hosts: byRole(r.hosts, "control-plane"),
          steps: [
            step({
              name: "API answers through the VIP",
              type: waitStep,
              params: () => ({
                until: answering,
                what: `https://${e.host}:${e.port} answers /readyz`,
                timeoutSec: 60,
              }),
            }),
          ],
        }),
      ];
    },
    cleanup: () => [filesAbsent("kube-vip files removed", [KUBE_VIP_MANIFEST, BGP_PEERS_FILE])],
  };
}
