import type { Fact } from "../../core/fact.js";
import { ifKnown, type BoundStep, type RenderedFile, type StepContext } from "../../core/step.js";
import { skip } from "../../core/action.js";
import type { StepType } from "../../steps/step.js";
import type { Condition } from "./condition.js";
import { hostView, type HostView, type RecipeInput } from "./view.js";

export interface TypedStep<P> {
  name: string;
  type: StepType<P>;
  /** The step's parameters for this host, computed from typed values (no `{{ }}` templates). */
  params: (v: HostView) => P;
  when?: Condition;
  notify?: string[];
}

/**
 * A recipe step: a step type with parameters computed in TypeScript. The step types interpolate
 * `{{ }}` for YAML playbooks; here the parameters are final, so they see a context whose
 * interpolation is the identity (a value containing `{{` stays as written).
 */
export function typedStep<P>(input: RecipeInput, s: TypedStep<P>): BoundStep {
  const literal = (ctx: StepContext): StepContext => ({
    ...ctx,
    interpolate: (t) => t,
    interpolateShell: (t) => t,
    interpolatePath: (t) => t,
    renderTemplate: (name) => {
      throw new Error(`recipe step ${s.name} asked for template ${name}`);
    },
  });
  const applies = (v: HostView) => s.when?.test(v);
  return {
    name: s.name,
    type: s.type.type,
    notify: s.notify ?? [],
    facts(ctx): Fact<unknown>[] {
      const v = hostView(input, ctx);
      const verdict = ifKnown(() => applies(v) ?? "");
      if (verdict) return []; // does not apply here
      // Applies, or not decided yet: ask now what can be asked, so the run's first read covers it.
      // A run value not known yet (a secret a gather brings) rarely changes what is read (a path):
      // ask with an empty stand-in; if the question does differ, its answer is simply not used
      // (facts are matched by their key) and the phase asks the right one.
      const params = ifKnown(() => s.params(v)) ?? standIn(() => s.params(withoutValues(v)));
      return params === undefined ? [] : s.type.facts(params, literal(ctx));
    },
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      const why = applies(v);
      if (why !== undefined) return skip(why);
      return s.type.plan(s.params(v), facts, literal(ctx));
    },
    files(ctx): RenderedFile[] {
      if (!s.type.files) return []; // not a step that manages a file
      const v = hostView(input, ctx);
      if (applies(v) !== undefined) return [];
      return s.type.files?.(s.params(v), literal(ctx)) ?? [];
    },
  };
}

/** The view with every run value empty, for the questions a step asks before the values exist. */
const withoutValues = (v: HostView): HostView => ({
  ...v,
  get: () => "",
  own: () => "",
  answers: () => ({}),
});

/** fn's result, or undefined when it cannot be made from stand-in values (the phase asks later). */
function standIn<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** `typedStep` for one recipe input: `const step = stepsOf(input); step({ … })`. */
export const stepsOf =
  (input: RecipeInput) =>
  <P>(s: TypedStep<P>): BoundStep =>
    typedStep(input, s);

/** A step that reads facts and decides its actions from them in code (no files, no handlers). */
export function readingStep(
  name: string,
  type: string,
  facts: Fact<unknown>[] | ((ctx: StepContext) => Fact<unknown>[]),
  plan: BoundStep["plan"],
): BoundStep {
  return {
    name,
    type,
    notify: [],
    facts: (ctx) => (typeof facts === "function" ? facts(ctx) : facts),
    files: () => [],
    plan,
  };
}
