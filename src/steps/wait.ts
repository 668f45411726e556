import { z } from "zod";
import { noop, observe } from "../core/action.js";
import { quote } from "../core/quote.js";
import { commandSucceeds } from "../facts/file-state.js";
import { placeholders, type StepContext, type StepType } from "./step.js";

export const WaitParams = z.strictObject({
  until: z.string().min(1).describe("Read-only command; the step waits until it exits 0"),
  what: z.string().min(1).describe("What is awaited, for the plan and the timeout error"),
  timeoutSec: z.number().int().min(1).max(3600).default(60),
});
export type WaitParams = z.infer<typeof WaitParams>;

const probe = (p: WaitParams, ctx: StepContext) => ctx.interpolateShell(p.until);

/**
 * A barrier on a read-only probe (REFERENCE.md §0.1.4): nothing to do when the probe already
 * passes; otherwise poll it on the host every half second, failing after timeoutSec with `what`.
 * Never a sleep.
 */
export const waitStep: StepType<WaitParams> = {
  type: "wait",
  params: WaitParams,
  describe: (p) => `wait: ${placeholders(p.what)}`,
  facts: (p, ctx) => [commandSucceeds(probe(p, ctx))],
  plan(p, facts, ctx) {
    const cmd = probe(p, ctx);
    if (facts.get(commandSucceeds(cmd))) return noop(`${p.what}: yes`);
    const fail = quote(`timed out after ${p.timeoutSec}s waiting: ${ctx.interpolate(p.what)}`);
    const loop = [
      `end=$(( $(date +%s) + ${p.timeoutSec} ))`,
      `until ( ${cmd} ) >/dev/null 2>&1; do`,
      `  if [ "$(date +%s)" -ge "$end" ]; then echo ${fail} >&2; exit 1; fi`,
      `  sleep 0.5`,
      `done`,
    ].join("\n");
    return observe(`wait until ${ctx.interpolate(p.what)}`, [
      { kind: "exec", command: loop, timeoutMs: (p.timeoutSec + 30) * 1000 },
    ]);
  },
};
