import type { HaMode } from "../config/schema.js";
import { designA } from "./keepalived-haproxy/index.js";
import type { Recipe } from "./recipe.js";
import { designB } from "./haproxy-pair/index.js";
import { designD } from "./pacemaker/index.js";
import { designE } from "./etcd-local-proxy/index.js";
import { designC } from "./kube-vip/index.js";

import type { RecipeInput } from "./blocks/view.js";
import { membershipPhase } from "./membership/phase.js";
import { steadyPhase } from "./endpoint/steady.js";
import type { CompiledPhase } from "../core/phase.js";

export type { Recipe } from "./recipe.js";

/** The phases a recipe runs around any playbook of its own (see RecipePhases.before/after). */
export function aroundPhases(
  recipe: Recipe,
  input: RecipeInput,
): { before: CompiledPhase[]; after: CompiledPhase[] } {
  return {
    before: [membershipPhase(input, (h) => recipe.members(h, input.inventory))],
    after: [
      steadyPhase(input, recipe.operatorEndpoint(input.inventory, input.hosts), recipe.settle?.(input) ?? []),
    ],
  };
}

/** The one map from HA mode to its recipe (issue #9): the CLI asks this, never the mode. */
export const RECIPES: Record<HaMode, Recipe> = {
  "keepalived-haproxy": designA,
  "haproxy-pair": designB,
  "kube-vip": designC,
  pacemaker: designD,
  "etcd-local-proxy": designE,
};
