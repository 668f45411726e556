import { z } from "zod";
import { change, noop, type Action } from "../core/action.js";
import { HaprovError } from "../core/errors.js";
import { command } from "../core/quote.js";
import { normalizeSysctl, sysctlValue } from "../facts/sysctl.js";
import { fileStep, type FileParams } from "./file.js";
import type { StepContext, StepType } from "./step.js";

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const ONE_LINE = /^[^\u0000-\u001f\u007f]*$/;

export const SysctlParams = z.strictObject({
  values: z.record(
    // a dotted name that cannot read as an option (`--load`) or leave /etc/sysctl.d's line format
    z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_][a-z0-9_/-]*)+$/, {
      error: "expected a sysctl key such as net.ipv4.ip_forward: dotted, starting with a letter",
    }),
    z
      .union([z.string(), z.number()])
      .transform(String)
      .pipe(
        z.string().max(4096).regex(ONE_LINE, {
          error: "expected one line of printable characters (a newline would write a second setting)",
        }),
      ),
  ),
  file: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\.conf$/, {
      error: "expected a file name ending in .conf",
    })
    .default("99-haprov.conf")
    .describe("File in /etc/sysctl.d/ that persists the values"),
});
export type SysctlParams = z.infer<typeof SysctlParams>;

export function renderSysctlFile(values: Record<string, string>): string {
  const lines = Object.keys(values)
    .sort()
    .map((k) => `${k} = ${values[k]}`);
  return `# Managed by haprov: changes here are put back on the next run.\n${lines.join("\n")}\n`;
}

function persistParams(p: SysctlParams): FileParams {
  return {
    path: `/etc/sysctl.d/${p.file}`,
    content: renderSysctlFile(p.values),
    mode: "0644",
    owner: "root",
    group: "root",
    encoding: "utf8",
    secret: false,
  };
}

/**
 * The values with their `{{ }}` filled in, once: the file and `sysctl -w` get the same value
 * (issue #20), and a value from the run (a registered output) is one printable line too.
 */
function resolved(p: SysctlParams, ctx: StepContext): SysctlParams {
  const values = Object.fromEntries(
    Object.entries(p.values).map(([k, v]) => {
      const value = ctx.interpolate(v);
      if (!ONE_LINE.test(value))
        throw new HaprovError(`sysctl ${k}: its value (from ${v}) is not one line of printable characters`);
      return [k, value];
    }),
  );
  return { ...p, values };
}

/** Live value (/proc/sys) and the persisted file, both checked, each fixed only when it differs. */
export const sysctlStep: StepType<SysctlParams> = {
  type: "sysctl",
  params: SysctlParams,
  describe: (p) => `sysctl ${Object.keys(p.values).join(", ")}`,
  facts: (p, ctx) => [
    ...Object.keys(p.values).map((k) => sysctlValue(k)),
    ...fileStep.facts(persistParams(resolved(p, ctx)), ctx),
  ],
  files: (p, ctx) => fileStep.files!(persistParams(resolved(p, ctx)), ctx),
  plan(params, facts, ctx) {
    const p = resolved(params, ctx);
    const changes: string[] = [];
    const actions: Action[] = [];
    const diffs: string[] = [];
    const wrong: string[] = [];
    for (const [key, want] of Object.entries(p.values)) {
      const live = facts.get(sysctlValue(key));
      if (live === undefined) {
        throw new HaprovError(`sysctl ${key} does not exist on ${ctx.host.name}`, {
          hint: "a missing kernel module (e.g. br_netfilter for net.bridge.*) is the usual cause",
        });
      }
      if (live !== normalizeSysctl(want)) {
        changes.push(`${key} ${live} → ${want}`);
        wrong.push(`${key}=${want}`);
      }
    }
    if (wrong.length > 0)
      actions.push({
        kind: "exec",
        command: command("sysctl", "-q", "-w", "--", ...wrong),
      });
    const file = fileStep.plan(persistParams(p), facts, ctx);
    if (file.kind === "change") {
      changes.push(file.summary);
      actions.unshift(...file.actions);
      if (file.diff) diffs.push(file.diff);
    }
    if (actions.length === 0) return noop(`${Object.keys(p.values).join(", ")} already set and persisted`);
    return change(changes.join("; "), actions, diffs.length ? diffs.join("\n") : undefined);
  },
};
