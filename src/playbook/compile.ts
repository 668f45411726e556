import { InputError } from "../core/errors.js";
import type { HostSpec, Role } from "../core/host.js";
import { UnknownValueError, type BoundStep, type StepContext } from "../core/step.js";
import { noop } from "../core/action.js";
import { whenHolds } from "../core/when.js";
import type { CompiledPlaybook } from "../engine/model.js";
import { command } from "../core/quote.js";
import { unitName } from "../facts/service.js";
import { STEP_TYPES } from "../steps/index.js";
import type { LoadedPlaybook } from "./load.js";

/**
 * Binds a loaded playbook to hosts: selectors become host names (in inventory order, then cut by
 * --limit), step parameters become BoundSteps, handlers become commands with a health check.
 */
export function compilePlaybook(
  pb: LoadedPlaybook,
  allHosts: HostSpec[],
  limit: string[] | undefined,
): CompiledPlaybook {
  if (limit) {
    const unknown = limit.filter((n) => !allHosts.some((h) => h.name === n));
    if (unknown.length > 0) {
      throw new InputError([
        {
          location: undefined,
          path: "--limit",
          message: `unknown host(s): ${unknown.join(", ")}`,
          severity: "error",
        },
      ]);
    }
  }
  const inLimit = (n: string) => !limit || limit.includes(n);
  return {
    name: pb.data.name,
    phases: pb.data.phases.map((phase, pi) => ({
      name: phase.name,
      hosts: select(phase.hosts, allHosts, pb.file, pi).filter(inLimit),
      requires: phase.requires,
      serial: phase.serial,
      gather: phase.gather,
      // Hosts the selector picked but --limit left out: decisions needing every host refuse then.
      limitedOut: select(phase.hosts, allHosts, pb.file, pi).filter((n) => !inLimit(n)),
      steps: (pb.steps[pi] ?? []).map((s): BoundStep => {
        const type = STEP_TYPES[s.type]!;
        const applies = (ctx: StepContext) => whenHolds(s.when, ctx.interpolate);
        /** The `when` verdict, or undefined while it waits on a value produced later in the run. */
        const decided = (ctx: StepContext) => unlessUnknown(() => applies(ctx));
        return {
          name: s.name,
          type: s.type,
          notify: s.notify,
          facts: (ctx) => {
            const verdict = decided(ctx);
            if (verdict === false) return [];
            // Undecided: ask now what can be asked (the run's first read covers it), or nothing;
            // the step plans once the value is known.
            if (verdict === undefined) return unlessUnknown(() => type.facts(s.params as never, ctx)) ?? [];
            return type.facts(s.params as never, ctx);
          },
          plan: (facts, ctx) =>
            applies(ctx)
              ? type.plan(s.params as never, facts, ctx)
              : noop(`not for this host (${s.when.join(" and ")})`),
          files: (ctx) => (decided(ctx) === false ? [] : (type.files?.(s.params as never, ctx) ?? [])),
        };
      }),
      handlers: phase.handlers.map((h) =>
        h.service !== undefined
          ? {
              name: h.name,
              run: command("systemctl", h.action, unitName(h.service)),
              verify: [command("systemctl", "is-active", "--quiet", unitName(h.service)), h.verify]
                .filter(Boolean)
                .join(" && "),
              serial: h.serial,
            }
          : { name: h.name, run: h.run!, ...(h.verify ? { verify: h.verify } : {}), serial: h.serial },
      ),
    })),
  };
}

function select(sel: string | string[], hosts: HostSpec[], file: string, pi: number): string[] {
  if (Array.isArray(sel)) {
    const missing = sel.filter((n) => !hosts.some((h) => h.name === n));
    if (missing.length > 0) {
      throw new InputError([
        {
          location: undefined,
          path: `${file}: phases[${pi}].hosts`,
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

/** fn's result, or undefined when it needs a run value not known yet (UnknownValueError). */
function unlessUnknown<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}
