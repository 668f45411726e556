import { z } from "zod";
import { change, noop, type Action } from "../core/action.js";
import { command } from "../core/quote.js";
import { kernelModule } from "../facts/kernel-module.js";
import { fileStep, type FileParams } from "./file.js";
import type { StepType } from "./step.js";

export const KernelModuleParams = z.strictObject({
  name: z.string().regex(/^[a-z0-9_][a-z0-9_-]*$/, {
    error: "expected a kernel module name (letters, digits, '_' and '-', not starting with '-')",
  }),
  persist: z.boolean().default(true).describe("Write /etc/modules-load.d/<name>.conf"),
});
export type KernelModuleParams = z.infer<typeof KernelModuleParams>;

function persistParams(p: KernelModuleParams): FileParams {
  return {
    path: `/etc/modules-load.d/${p.name}.conf`,
    content: `${p.name}\n`,
    mode: "0644",
    owner: "root",
    group: "root",
    encoding: "utf8",
    secret: false,
  };
}

/** Loaded (or built into the kernel, which counts) and persisted for the next boot. */
export const kernelModuleStep: StepType<KernelModuleParams> = {
  type: "kernel-module",
  params: KernelModuleParams,
  describe: (p) => `kernel module ${p.name}`,
  facts: (p, ctx) => [kernelModule(p.name), ...(p.persist ? fileStep.facts(persistParams(p), ctx) : [])],
  files: (p, ctx) => (p.persist ? fileStep.files!(persistParams(p), ctx) : []),
  plan(p, facts, ctx) {
    const state = facts.get(kernelModule(p.name));
    const actions: Action[] = [];
    const what: string[] = [];
    if (state === "absent") {
      actions.push({ kind: "exec", command: command("modprobe", "--", p.name) });
      what.push(`load ${p.name}`);
    }
    if (p.persist) {
      const file = fileStep.plan(persistParams(p), facts, ctx);
      if (file.kind === "change") {
        actions.push(...file.actions);
        what.push(file.summary);
      }
    }
    if (actions.length === 0) return noop(`${p.name} ${state}${p.persist ? " and persisted" : ""}`);
    return change(what.join("; "), actions);
  },
};
