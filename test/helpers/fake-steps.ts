import { change, noop } from "../../src/core/action.js";
import type { Fact } from "../../src/core/fact.js";
import type { BoundStep } from "../../src/core/step.js";

export function keyFact(key: string): Fact<string | undefined> {
  return {
    key: `k:${key}`,
    script: `FACT ${key}`,
    parse: (out, code) => (code === 0 ? out.trim() : undefined),
  };
}

/** A step that wants state[key] = value (fake-host's SET command). */
export function setStep(key: string, value: string, notify: string[] = []): BoundStep {
  return {
    name: `set ${key}`,
    type: "test",
    notify,
    facts: () => [keyFact(key)],
    plan: (facts) => {
      const live = facts.get(keyFact(key));
      return live === value
        ? noop(`${key} already ${value}`)
        : change(`${key} ${live ?? "unset"} → ${value}`, [{ kind: "exec", command: `SET ${key} ${value}` }]);
    },
    files: () => [],
  };
}

/** A step whose apply always fails (fake-host fails commands matching failOn). */
export function failingStep(name = "explode"): BoundStep {
  return {
    name,
    type: "test",
    notify: [],
    facts: () => [],
    plan: () => change("explode", [{ kind: "exec", command: "FAIL now" }]),
    files: () => [],
  };
}

/** A step with no facts whose plan is given directly (for value-flow tests). */
export function planStep(name: string, plan: BoundStep["plan"]): BoundStep {
  return { name, type: "test", notify: [], facts: () => [], plan, files: () => [] };
}
