import type { Inventory } from "../../config/schema.js";
import type { HostSpec } from "../../core/host.js";
import { answersOf, valueOf, type RunKey } from "../../core/run-key.js";
import type { StepContext } from "../../core/step.js";

/** What a recipe is built for: the inventory and its resolved hosts. */
export interface RecipeInput {
  inventory: Inventory;
  hosts: HostSpec[];
  /** --limit: only these hosts are worked on (undefined: all). */
  limit: string[] | undefined;
}

/**
 * One host as a recipe's steps see it at plan time: the inventory, every host, and the run's
 * values through their typed keys. A value the run has not produced yet raises UnknownValueError
 * (plan: "known at apply time").
 */
export interface HostView {
  host: HostSpec;
  hosts: HostSpec[];
  inventory: Inventory;
  /** The value the run registered for `key`. */
  get(key: RunKey): string;
  /** This host's own answer to the gather of `key` ("" when it had none). */
  own(key: RunKey): string;
  /** Every asked host's answer to the gather of `key`. */
  answers(key: RunKey): Record<string, string>;
}

export function hostView(input: RecipeInput, ctx: StepContext): HostView {
  return {
    host: ctx.host,
    hosts: input.hosts,
    inventory: input.inventory,
    get: (key) => valueOf(ctx.scope, key),
    own: (key) => answersOf(ctx.scope, key)[ctx.host.name] ?? "",
    answers: (key) => answersOf(ctx.scope, key),
  };
}

export const byRole = (hosts: HostSpec[], role: HostSpec["roles"][number]) =>
  hosts.filter((h) => h.roles.includes(role));
