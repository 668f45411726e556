import { observe } from "../../core/action.js";
import type { CompiledPhase } from "../../core/phase.js";
import { quote, sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { phase } from "../blocks/phase.js";
import { byRole, type RecipeInput } from "../blocks/view.js";
import type { Endpoint } from "../recipe.js";

/** Answers in a row, a quarter of a second apart, that make the endpoint "steady". */
export const STEADY_ANSWERS = 8;
const TIMEOUT_S = 120;

/**
 * The last phase of every recipe run that changed something (issue #19): `up` returns only once
 * the API answers through the operator's endpoint, from every control-plane node, STEADY_ANSWERS
 * times in a row (about 2 s) — not at its first answer, which a VIP moving once more (kube-vip
 * restarting with admin.conf, a keepalived reload) can follow. The mode's own barriers come first
 * (`before`: BGP sessions established). A converged rerun touched nothing and skips it.
 */
export function steadyPhase(input: RecipeInput, endpoint: Endpoint, before: BoundStep[] = []): CompiledPhase {
  return phase(input, {
    name: "endpoint steady",
    hosts: byRole(input.hosts, "control-plane"),
    requires: "all",
    onlyAfterChanges: "nothing changed in this run, so the endpoint was not touched",
    steps: [...before, steadyStep(endpoint)],
  });
}

function steadyStep(e: Endpoint): BoundStep {
  const url = `https://${e.host}:${e.port}/readyz`;
  const what = `https://${e.host}:${e.port} answers /readyz ${STEADY_ANSWERS} times in a row`;
  return {
    name: "API steady through the endpoint",
    type: "wait-steady",
    notify: [],
    facts: () => [],
    files: () => [],
    plan: () =>
      observe(`wait until ${what}`, [
        {
          kind: "exec",
          command: [
            `end=$(( $(date +%s) + ${TIMEOUT_S} )); ok=0`,
            "while :; do",
            `  if ${sh`curl -sfk --max-time 1 -o /dev/null ${url}`}; then ok=$((ok + 1)); [ "$ok" -ge ${STEADY_ANSWERS} ] && exit 0; else ok=0; fi`,
            `  if [ "$(date +%s)" -ge "$end" ]; then echo ${quote(`timed out after ${TIMEOUT_S}s waiting: ${what}`)} >&2; exit 1; fi`,
            "  sleep 0.25",
            "done",
          ].join("\n"),
          timeoutMs: (TIMEOUT_S + 30) * 1000,
        },
      ]),
  };
}
