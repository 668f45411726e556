import type { StepPlan } from "./action.js";
import type { Fact, FactReader } from "./fact.js";
import type { HostSpec } from "./host.js";

import type { RunScope } from "./run-scope.js";

export type { RunScope } from "./run-scope.js";

/** What a step may know about where it runs. No transport here: steps cannot run anything. */
export interface StepContext {
  host: HostSpec;
  /** The run's values so far. */
  scope: RunScope;
  /** `{{ path }}` in text (file content, paths): values inserted as they are. */
  interpolate(text: string): string;
  /**
   * `{{ path }}` in a shell line: each value inserted as one quoted word (core/quote.ts), so an
   * inventory value can never become a command (issue #8).
   */
  interpolateShell(text: string): string;
  /** `{{ path }}` in a file path: each value one path segment (core/interpolate.ts, issue #20). */
  interpolatePath(text: string): string;
  /** Content of a named TypeScript template for this host. */
  renderTemplate(name: string): string;
}

/** A step bound to its parameters, as the engine runs it: read (facts) and plan, kept apart. */
export interface BoundStep {
  name: string;
  type: string;
  /** Handler names to run when this step changed something. */
  notify: string[];
  facts(ctx: StepContext): Fact<unknown>[];
  plan(facts: FactReader, ctx: StepContext): StepPlan;
  /** Files this step manages, rendered without contacting the host (for `haprov render`). */
  files(ctx: StepContext): RenderedFile[];
}

export interface RenderedFile {
  path: string;
  mode: string;
  owner: string;
  group: string;
  content: string;
  secret: boolean;
}

/** Thrown when a value (a registered output) is needed before the step that produces it has run. */
export class UnknownValueError extends Error {
  override readonly name = "UnknownValueError";
  /**
   * `valueName` names the value (`registered.initNode`); `what` says in words what it is ("the node
   * that initialises the cluster"), for plan and render.
   */
  constructor(
    readonly valueName: string,
    readonly what = valueName,
  ) {
    super(`${what} is not known yet: it is found at apply time`);
  }
}

/** fn's result, or undefined while it needs a run value that is not known yet (UnknownValueError). */
export function ifKnown<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}
