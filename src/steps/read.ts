import { z } from "zod";
import { noop } from "../core/action.js";
import { randomAlnum } from "../core/random.js";
import type { Fact } from "../core/fact.js";
import type { StepType } from "./step.js";

export const ReadParams = z.strictObject({
  script: z.string().min(1).describe("Read-only shell snippet; its trimmed stdout is the value"),
  register: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected a value name" }),
  secret: z.boolean().default(false),
  generate: z
    .strictObject({ length: z.number().int().min(4).max(64) })
    .optional()
    .describe("When the script prints nothing: a random alphanumeric value of this length"),
});
export type ReadParams = z.infer<typeof ReadParams>;

function output(script: string): Fact<string> {
  return { key: `read:${script}`, script, parse: (out) => out.trim() };
}

/**
 * Reads a value from the host (in the batched facts, so plan sees it too) and keeps it for later
 * steps and templates; changes nothing. With `generate`, a value no host has yet is made up here,
 * e.g. the VRRP password that must then stay the same on every rerun (it is read back next time).
 */
export const readStep: StepType<ReadParams> = {
  type: "read",
  params: ReadParams,
  describe: (p) => `read ${p.register}`,
  facts: (p, ctx) => [output(ctx.interpolateShell(p.script))],
  plan(p, facts, ctx) {
    const found = facts.get(output(ctx.interpolateShell(p.script)));
    if (found)
      return noop(`${p.register} read from the host`, [{ name: p.register, value: found, secret: p.secret }]);
    if (!p.generate) return noop(`${p.register}: nothing on the host`);
    const value = randomAlnum(p.generate.length);
    return noop(`${p.register}: none on the host yet, generated`, [
      { name: p.register, value, secret: p.secret },
    ]);
  },
};
