import { InputError, type InputIssue } from "../core/errors.js";
import type { HostSpec, Role } from "../core/host.js";
import type { CompiledPhase, CompiledPlaybook, HandlerDef } from "../core/phase.js";
import { command } from "../core/quote.js";
import { skip } from "../core/action.js";
import { ifKnown, type BoundStep, type StepContext } from "../core/step.js";
import { whyNot } from "../core/when.js";
import { formatPath } from "../config/yaml-source.js";
import { unitName } from "../facts/service.js";
import { STEP_TYPES } from "../steps/index.js";
import type { LoadedPlaybook, ParsedStep } from "./load.js";
import type { HandlerEntry, PhaseEntry } from "./schema.js";

/** The phases of an HA recipe, by name, in the recipe's order, compiled for these hosts. */
export interface RecipePhases {
  mode: string;
  phases: CompiledPhase[];
  /**
   * Phases the recipe runs around any playbook of its own, not named in the playbook (so a copied
   * playbook cannot leave them out): its checks first (the cluster's membership), its closing
   * barrier last (the endpoint answers steadily).
   */
  before?: CompiledPhase[];
  after?: CompiledPhase[];
}

/**
 * Binds a loaded playbook to hosts: selectors become host names (in inventory order, then cut by
 * --limit), step parameters become BoundSteps, handlers become commands with a health check, and
 * each `- recipe: NAME` entry becomes that phase of the recipe. The recipe's phases must all be
 * named, in the recipe's order; the operator's own phases may stand between them.
 */
export function compilePlaybook(
  pb: LoadedPlaybook,
  allHosts: HostSpec[],
  limit: string[] | undefined,
  recipe?: RecipePhases,
): CompiledPlaybook {
  if (limit) {
    const unknown = limit.filter((n) => !allHosts.some((h) => h.name === n));
    if (unknown.length > 0)
      throw new InputError([
        {
          location: undefined,
          path: "--limit",
          message: `unknown host(s): ${unknown.join(", ")}`,
          severity: "error",
        },
      ]);
  }
  checkRecipeEntries(pb, recipe);
  const inLimit = (n: string) => !limit || limit.includes(n);
  const phases = pb.entries.map((e): CompiledPhase => {
    if (e.kind === "recipe") return recipe!.phases.find((p) => p.name === e.name)!;
    const selected = select(e.phase.hosts, allHosts, pb, e.at);
    return {
      name: e.phase.name,
      hosts: selected.filter(inLimit),
      requires: e.phase.requires,
      serial: e.phase.serial,
      gather: e.phase.gather.map((g) => ({
        ...g,
        script: (ctx: StepContext) => ctx.interpolateShell(g.script),
      })),
      // Hosts the selector picked but --limit left out: decisions needing every host refuse then.
      limitedOut: selected.filter((n) => !inLimit(n)),
      steps: e.steps.map(bindYamlStep),
      handlers: e.phase.handlers.map(bindHandler),
    };
  });
  if (!pb.recipe || !recipe) return { name: pb.name, phases };
  return { name: pb.name, phases: [...(recipe.before ?? []), ...phases, ...(recipe.after ?? [])] };
}

function checkRecipeEntries(pb: LoadedPlaybook, recipe: RecipePhases | undefined): void {
  if (!pb.recipe) return;
  const issues: InputIssue[] = [];
  const err = (at: PropertyKey[], message: string) =>
    issues.push({ location: pb.locate(at), path: formatPath(at), message, severity: "error" });
  if (!recipe || recipe.mode !== pb.recipe) {
    err(
      ["recipe"],
      recipe
        ? `runs the ${pb.recipe} recipe, but the inventory's mode is ${recipe.mode}`
        : `names recipe "${pb.recipe}", which does not exist`,
    );
    throw new InputError(issues);
  }
  const known = recipe.phases.map((p) => p.name);
  const named = pb.entries.filter((e) => e.kind === "recipe");
  for (const e of named)
    if (!known.includes(e.name))
      err(
        [...e.at, "recipe"],
        `"${e.name}" is not a phase of ${recipe.mode} (its phases: ${known.join(", ")})`,
      );
  const order = named.map((e) => e.name).filter((n) => known.includes(n));
  const missing = known.filter((n) => !order.includes(n));
  if (missing.length > 0)
    err(["phases"], `leaves out ${missing.join(", ")}: every phase of ${recipe.mode} must be listed`);
  else if (order.join() !== known.join())
    err(["phases"], `lists the ${recipe.mode} phases out of order: they run as ${known.join(", ")}`);
  if (issues.length > 0) throw new InputError(issues);
}

/** A YAML step: its `when` decides, with the values filled in, and a skip says which one failed. */
function bindYamlStep(s: ParsedStep): BoundStep {
  const type = STEP_TYPES[s.type]!;
  const params = s.params as never;
  /** Why the step does not apply, "" when it does, undefined while a run value is not known yet. */
  const verdict = (ctx: StepContext) => ifKnown(() => whyNot(s.when, ctx.interpolate) ?? "");
  return {
    name: s.name,
    type: s.type,
    notify: s.notify,
    facts: (ctx) => {
      const v = verdict(ctx);
      if (v) return [];
      // Undecided: ask now what can be asked (the run's first read covers it); the step plans once
      // the value is known.
      if (v === undefined) return ifKnown(() => type.facts(params, ctx)) ?? [];
      return type.facts(params, ctx);
    },
    plan: (facts, ctx) => {
      const why = whyNot(s.when, ctx.interpolate);
      return why === undefined ? type.plan(params, facts, ctx) : skip(`when: ${why}`);
    },
    files: (ctx) => (verdict(ctx) ? [] : (type.files?.(params, ctx) ?? [])),
  };
}

function bindHandler(h: HandlerEntry): HandlerDef {
  if (h.service !== undefined) {
    const unit = unitName(h.service);
    return {
      name: h.name,
      run: () => command("systemctl", h.action, "--", unit),
      verify: (ctx) =>
        [
          command("systemctl", "is-active", "--quiet", "--", unit),
          h.verify ? ctx.interpolateShell(h.verify) : "",
        ]
          .filter(Boolean)
          .join(" && "),
      serial: h.serial,
    };
  }
  const run = h.run!;
  const verify = h.verify;
  return {
    name: h.name,
    run: (ctx) => ctx.interpolateShell(run),
    ...(verify ? { verify: (ctx: StepContext) => ctx.interpolateShell(verify) } : {}),
    serial: h.serial,
  };
}

function select(
  sel: PhaseEntry["hosts"],
  hosts: HostSpec[],
  pb: LoadedPlaybook,
  at: PropertyKey[],
): string[] {
  if (Array.isArray(sel)) {
    const missing = sel.filter((n) => !hosts.some((h) => h.name === n));
    if (missing.length > 0) {
      throw new InputError([
        {
          location: pb.locate([...at, "hosts"]),
          path: formatPath([...at, "hosts"]),
          message: `names host(s) not in the inventory: ${missing.join(", ")}`,
          severity: "error",
        },
      ]);
    }
    return hosts.filter((h) => sel.includes(h.name)).map((h) => h.name);
  }
  if (sel === "all") return hosts.map((h) => h.name);
  const first = /^first\((.+)\)$/.exec(sel);
  const role = (first ? first[1] : sel) as Role;
  const matching = hosts.filter((h) => h.roles.includes(role)).map((h) => h.name);
  return first ? matching.slice(0, 1) : matching;
}
