import type { Inventory } from "../config/schema.js";
import { HaprovError } from "../core/errors.js";
import type { CompiledPlaybook } from "../core/phase.js";
import type { RecipeInput } from "./blocks/view.js";
import { nodeRemovalPhases } from "./kubeadm/remove-node.js";
import type { Recipe, RemovalInput } from "./recipe.js";

/**
 * The operations beyond `up` (issue #21), each a phase list built in typed code from the mode's
 * hooks, run by the same engine as `up` (plan, guards, events, exit codes). The CLI's verb table
 * (cli/verbs.ts) names one of these per verb; adding an operation is one builder here and one row
 * there.
 */
export interface Operations {
  "node remove": { node: string; unreachable: boolean };
}

export type OperationName = keyof Operations;

export const OPERATIONS: {
  [K in OperationName]: (recipe: Recipe, input: RecipeInput, args: Operations[K]) => CompiledPlaybook;
} = {
  "node remove": nodeRemoval,
};

/**
 * `haprov node remove NODE`: the survivors are the inventory without NODE; NODE's own steps run
 * over SSH only when it is in the inventory and not declared `--unreachable`.
 */
function nodeRemoval(recipe: Recipe, input: RecipeInput, o: Operations["node remove"]): CompiledPlaybook {
  const inv = input.inventory;
  if (!recipe.removal)
    throw new HaprovError(`HA mode ${inv.cluster.mode} has no node removal yet`, {
      hint: 'README, "Taking a node out by hand"',
    });
  const spec = input.hosts.find((h) => h.name === o.node);
  if (!spec && !o.unreachable)
    throw new HaprovError(`${o.node} is not in the inventory, so haprov cannot reach it`, {
      hint: `put it back in the inventory to remove it cleanly, or give --unreachable if the host is gone (its etcd member and Node are then removed from the survivors)`,
    });
  const externalEtcd = recipe.removal.externalEtcd !== undefined;
  if (spec?.roles.includes("lb"))
    throw new HaprovError(
      `${o.node} has the role(s) ${spec.roles.join(", ")}: node remove takes out control-plane nodes, workers and etcd hosts; load-balancer hosts are not removed by it yet`,
    );
  if (spec?.roles.includes("etcd") && !externalEtcd)
    throw new HaprovError(`${o.node} has the role etcd, which mode ${inv.cluster.mode} does not use`);
  const survivors: Inventory = { ...inv, hosts: inv.hosts.filter((h) => h.name !== o.node) };
  const r: RemovalInput = {
    inventory: survivors,
    hosts: input.hosts.filter((h) => h.name !== o.node),
    limit: undefined,
    node: { name: o.node, spec, reachable: spec !== undefined && !o.unreachable },
  };
  return {
    name: `node remove ${o.node}`,
    phases: nodeRemovalPhases(r, {
      hooks: recipe.removal,
      // the membership as the full inventory sees it: NODE's etcd member is one of the cluster's
      members: (h) => recipe.members(h, inv),
      endpoint: recipe.operatorEndpoint(survivors, r.hosts),
    }),
  };
}
