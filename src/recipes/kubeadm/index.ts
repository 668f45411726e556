import type { CompiledPhase } from "../../core/phase.js";
import type { BoundStep } from "../../core/step.js";
import type { RecipeInput } from "../blocks/view.js";
import { initPhase, type KubeadmOptions } from "./init.js";
import { joinControlPlanePhase, joinTokenPhase, joinWorkersPhase } from "./join.js";
import { prerequisitesPhase } from "./prerequisites.js";

export { caCertHash, type KubeadmOptions } from "./init.js";

/**
 * The kubeadm phases every HA design shares, around the mode's own: prerequisites first, then the
 * mode's load-balancing phases (`lb`), then init (with `beforeInit` steps of the mode on the init
 * node), the join material, control-plane joins one at a time (each followed by the mode's
 * `afterJoin` steps), workers, and the mode's `last` phases.
 */
export function kubeadmPhases(
  input: RecipeInput,
  o: KubeadmOptions,
  mode: {
    lb: CompiledPhase[];
    beforeInit?: Parameters<typeof initPhase>[2];
    /** Steps of the mode on each control-plane node right after its join (kube-vip's manifest). */
    afterJoin?: BoundStep[];
    /** The mode's phases once every node has joined. */
    last?: CompiledPhase[];
  },
): CompiledPhase[] {
  // The Kubernetes nodes: hosts that are only load balancers (or only etcd) run none of this.
  const nodes = input.hosts.filter((h) => h.roles.includes("control-plane") || h.roles.includes("worker"));
  return [
    prerequisitesPhase(input, nodes),
    ...mode.lb,
    initPhase(input, o, mode.beforeInit),
    joinTokenPhase(input, nodes),
    joinControlPlanePhase(input, o, mode.afterJoin),
    joinWorkersPhase(input, o),
    ...(mode.last ?? []),
  ];
}
