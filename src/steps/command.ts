import { z } from "zod";
import { change, noop } from "../core/action.js";
import { commandSucceeds, pathExists } from "../facts/file-state.js";
import { placeholders, type StepContext, type StepType } from "./step.js";

export const CommandParams = z.strictObject({
  run: z.string().min(1).describe("Shell command; each {{ value }} is inserted as one quoted word"),
  creates: z
    .string()
    .regex(/^(\/|\{\{)/, { error: "expected an absolute path" })
    .optional()
    .describe("Skip when this path exists"),
  unless: z.string().optional().describe("Skip when this read-only command exits 0"),
  register: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional()
    .describe("Keep trimmed stdout in memory as {{ registered.NAME }} for later steps"),
  secret: z.boolean().default(false).describe("The registered output is a secret: masked everywhere"),
  timeoutMs: z.number().int().min(1000).optional(),
});
export type CommandParams = z.infer<typeof CommandParams>;

function guards(p: CommandParams, ctx: StepContext): CommandParams {
  return {
    ...p,
    ...(p.creates ? { creates: ctx.interpolate(p.creates) } : {}),
    ...(p.unless ? { unless: ctx.interpolateShell(p.unless) } : {}),
  };
}

/** For the few things with no state to read. Without a guard it runs (and counts as changed) every time. */
export const commandStep: StepType<CommandParams> = {
  type: "command",
  params: CommandParams,
  describe: (p) => `command ${placeholders(p.run.split("\n")[0]!).slice(0, 60)}`,
  facts: (params, ctx) => {
    const p = guards(params, ctx);
    return [...(p.creates ? [pathExists(p.creates)] : []), ...(p.unless ? [commandSucceeds(p.unless)] : [])];
  },
  plan(params, facts, ctx) {
    const p = guards(params, ctx);
    if (p.creates && facts.get(pathExists(p.creates))) return noop(`${p.creates} exists`);
    if (p.unless && facts.get(commandSucceeds(p.unless))) return noop("its unless-check already passes");
    const run = ctx.interpolateShell(p.run);
    return change(`run ${run.split("\n")[0]}`, [
      {
        kind: "exec",
        command: run,
        ...(p.register ? { register: { name: p.register, secret: p.secret } } : {}),
        ...(p.timeoutMs ? { timeoutMs: p.timeoutMs } : {}),
      },
    ]);
  },
};
