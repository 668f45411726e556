import type { StepPlan } from "./action.js";
import type { Fact, FactReader } from "./fact.js";
import type { HostSpec } from "./host.js";

/** What a step may know about where it runs. No transport here: steps cannot run anything. */
export interface StepContext {
  host: HostSpec;
  /** `{{ path }}` interpolation with the run's values; throws UnknownValueError when not yet known. */
  interpolate(text: string): string;
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
  constructor(readonly valueName: string) {
    super(`{{ ${valueName} }} is not known yet: it is produced by an earlier step at apply time`);
  }
}
