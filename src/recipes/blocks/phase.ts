import type { HostSpec } from "../../core/host.js";
import type { CompiledPhase, GatherDef, HandlerDef } from "../../core/phase.js";
import { command, sh } from "../../core/quote.js";
import type { RunKey } from "../../core/run-key.js";
import type { BoundStep, StepContext } from "../../core/step.js";
import { unitName } from "../../facts/service.js";
import type { RecipeInput } from "./view.js";

export interface PhaseSpec {
  /** The phase's name: shown in output, and how a playbook names it (`- recipe: NAME`). */
  name: string;
  hosts: HostSpec[];
  requires?: "all" | "any";
  serial?: number;
  gather?: GatherDef[];
  steps: BoundStep[];
  handlers?: HandlerDef[];
  rollLast?: (ctx: StepContext) => string;
  /** A failure here stops the run: no later phase starts (see CompiledPhase.gate). */
  gate?: boolean;
  /** Runs only after changes; the text says why not otherwise (see CompiledPhase). */
  onlyAfterChanges?: string;
}

/** A recipe phase for these hosts, cut by --limit (the hosts left out are kept: see gather). */
export function phase(input: RecipeInput, p: PhaseSpec): CompiledPhase {
  const inLimit = (h: HostSpec) => !input.limit || input.limit.includes(h.name);
  return {
    name: p.name,
    hosts: p.hosts.filter(inLimit).map((h) => h.name),
    limitedOut: p.hosts.filter((h) => !inLimit(h)).map((h) => h.name),
    requires: p.requires ?? "all",
    serial: p.serial,
    gather: p.gather ?? [],
    steps: p.steps,
    handlers: p.handlers ?? [],
    ...(p.rollLast ? { rollLast: p.rollLast } : {}),
    ...(p.gate ? { gate: true } : {}),
    ...(p.onlyAfterChanges ? { onlyAfterChanges: p.onlyAfterChanges } : {}),
  };
}

/** A gather that registers `key`: the script runs on every host of the phase (build it with `sh`). */
export function gatherInto(
  key: RunKey,
  script: (ctx: StepContext) => string,
  o: Omit<GatherDef, "name" | "script" | "secret"> = {},
): GatherDef {
  return { name: key.name, script, secret: key.secret, ...o };
}

/** `systemctl reload|restart UNIT`, then wait until the unit is active and `healthy` passes. */
export function serviceHandler(o: {
  name: string;
  unit: string;
  action: "reload" | "restart";
  serial: boolean;
  healthy?: (ctx: StepContext) => string;
}): HandlerDef {
  const unit = unitName(o.unit);
  return {
    name: o.name,
    run: () => command("systemctl", o.action, "--", unit),
    verify: (ctx) =>
      [sh`systemctl is-active --quiet -- ${unit}`, ...(o.healthy ? [o.healthy(ctx)] : [])].join(" && "),
    serial: o.serial,
  };
}
