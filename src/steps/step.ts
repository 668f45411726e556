import type { z } from "zod";
import type { StepPlan } from "../core/action.js";
import type { Fact, FactReader } from "../core/fact.js";
import type { RenderedFile, StepContext } from "../core/step.js";

export type { StepContext } from "../core/step.js";

/**
 * A step type: *read* (facts), *diff* and *plan* (plan), kept apart; the engine's executor does
 * the *apply* from the returned actions.
 */
export interface StepType<P> {
  readonly type: string;
  readonly params: z.ZodType<P>;
  describe(params: P): string;
  facts(params: P, ctx: StepContext): Fact<unknown>[];
  plan(params: P, facts: FactReader, ctx: StepContext): StepPlan;
  /** Files the step manages, for `haprov render`. */
  files?(params: P, ctx: StepContext): RenderedFile[];
}

/** A template's text for a step name: `{{ host.name }}` reads `<host.name>` (no `{{` reaches the screen). */
export function placeholders(text: string): string {
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, "<$1>");
}
