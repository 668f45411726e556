import type { z } from "zod";
import { clusterFieldsOf, HA_MODES, type Inventory } from "../config/schema.js";
import { formatPath } from "../config/yaml-source.js";
import type { InputIssue } from "../core/errors.js";
import { VALUE_REF } from "../core/interpolate.js";
import type { RunKey } from "../core/run-key.js";
import { parseCondition } from "../core/when.js";
import type { LoadedPlaybook } from "./load.js";
import { positionProblem, templatePositions } from "./shell-positions.js";

const HOST_FIELDS = new Set(["name", "address", "roles", "user", "interface", "priority"]);

/**
 * The shell fields of each step type (issue #20): their `{{ }}` must stand as words of their own
 * (shell-positions.ts); gather scripts and handler run/verify are shell fields too.
 */
export const SHELL_FIELDS: Record<string, string[]> = {
  command: ["run", "unless"],
  wait: ["until"],
  read: ["script"],
};

/**
 * Every `{{ … }}` a YAML phase names must exist where it stands (issue #9): `registered.X` and
 * `self.X` only after a gather, a `register:` or a recipe phase that produces X; `cluster.X` a
 * field of the inventory's cluster; `vars.X` a variable of the inventory; and in `when: A == B`, a
 * literal compared with an enumerated cluster field (`{{ cluster.pki }} == cpoy`) one of its values.
 * A typo is an input error at validate time, with file:line:col, not "would run" in plan.
 */
export function checkNames(
  pb: LoadedPlaybook,
  inv: Inventory,
  recipeValues: readonly RunKey[],
  /** Secret values of the inventory (`!secret`, secret fields): a var holding one is secret. */
  secrets: readonly string[] = [],
): InputIssue[] {
  const issues: InputIssue[] = [];
  const registered = new Set<string>();
  const gathered = new Set<string>();
  const hostNames = new Set(inv.hosts.map((h) => h.name));
  const vars = new Set([
    ...Object.keys(inv.vars ?? {}),
    ...inv.hosts.flatMap((h) => Object.keys(h.vars ?? {})),
  ]);
  const err = (at: PropertyKey[], message: string) =>
    issues.push({ location: pb.locate(at), path: formatPath(at), message, severity: "error" });
  // Values that are secrets (issue #20): they may fill a file's content, never its path or owner,
  // which every step name, plan line and `render` prints.
  const secretValues = new Set(secrets);
  const fields = clusterFieldsOf(inv.cluster.mode);
  const secretRefs = new Set<string>(["cluster.vrrpPassword"]);
  const varsOf = [inv.vars ?? {}, ...inv.hosts.map((h) => h.vars ?? {})];
  for (const v of varsOf)
    for (const [k, val] of Object.entries(v)) if (secretValues.has(String(val))) secretRefs.add(`vars.${k}`);
  const secretRun = new Set<string>();
  const isSecretRef = (ref: string) => {
    const [root, name] = ref.split(".");
    return (
      secretRefs.has(ref) || (["registered", "self", "gathered"].includes(root!) && secretRun.has(name!))
    );
  };

  const why = (path: string): string | undefined => {
    const [root, name, ...rest] = path.split(".");
    const known = (set: Set<string>) => (set.size ? ` (known here: ${[...set].sort().join(", ")})` : "");
    switch (root) {
      case "cluster":
        if (name === undefined || !(name in fields) || rest.length > 0)
          return `cluster has no field "${[name, ...rest].join(".")}" in mode ${inv.cluster.mode}`;
        return isMapping(fields[name])
          ? `cluster.${name} is a group of settings, not one value: name a value of your own in vars`
          : undefined;
      case "host":
        return name !== undefined && HOST_FIELDS.has(name) && rest.length === 0
          ? undefined
          : `host has no field "${[name, ...rest].join(".")}" (fields: ${[...HOST_FIELDS].join(", ")})`;
      case "vars":
        return name !== undefined && vars.has(name) && rest.length === 0
          ? undefined
          : `the inventory has no variable "${name}"${known(vars)}`;
      case "hosts":
        return name === undefined ? undefined : `hosts is a list of host names, with no field "${name}"`;
      case "registered":
        return name !== undefined && registered.has(name) && rest.length === 0
          ? undefined
          : `nothing before this point registers "${name}"${known(registered)}`;
      case "self":
        return name !== undefined && gathered.has(name) && rest.length === 0
          ? undefined
          : `no gather before this point is named "${name}"${known(gathered)}`;
      case "gathered":
        if (name === undefined || !gathered.has(name))
          return `no gather before this point is named "${name}"${known(gathered)}`;
        return rest.length === 1 && hostNames.has(rest[0]!)
          ? undefined
          : `gathered.${name} needs a host name after it`;
      default:
        return `"${root}" is not a value (use cluster.*, host.*, vars.*, hosts, registered.*, self.*, gathered.*)`;
    }
  };
  const check = (text: string, at: PropertyKey[], shell = false) => {
    for (const m of text.matchAll(VALUE_REF)) {
      const problem = why(m[1]!);
      if (problem) err(at, `{{ ${m[1]} }}: ${problem}`);
    }
    if (!shell) return;
    const said = new Set<string>();
    for (const u of templatePositions(text)) {
      const problem = positionProblem(u);
      if (problem && !said.has(problem)) {
        said.add(problem);
        err(at, problem);
      }
    }
  };
  const checkAll = (value: unknown, at: PropertyKey[]): void => {
    if (typeof value === "string") check(value, at);
    else if (Array.isArray(value)) value.forEach((v, i) => checkAll(v, [...at, i]));
    else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) checkAll(v, [...at, k]);
  };

  let recipeSeen = false;
  for (const entry of pb.entries) {
    if (entry.kind === "recipe") {
      if (!recipeSeen)
        for (const k of recipeValues) {
          registered.add(k.name);
          if (k.secret) secretRun.add(k.name);
        }
      recipeSeen = true;
      continue;
    }
    const { phase, steps, at } = entry;
    phase.gather.forEach((g, gi) => check(g.script, [...at, "gather", gi, "script"], true));
    for (const g of phase.gather) {
      registered.add(g.name);
      gathered.add(g.name);
      if (g.secret) secretRun.add(g.name);
    }
    for (const s of steps) {
      s.when.forEach((c, ci) => {
        const cat = [...s.at, "when", ...(s.when.length > 1 ? [ci] : [])];
        check(c, cat);
        const literal = enumMismatch(c, fields);
        if (literal) err(cat, literal);
      });
      checkAll(s.params, [...s.at, s.type]);
      for (const field of SHELL_FIELDS[s.type] ?? []) {
        const v = (s.params as Record<string, unknown>)[field];
        if (typeof v === "string") {
          const at = [...s.at, s.type, field];
          for (const u of templatePositions(v)) {
            const problem = positionProblem(u);
            if (problem) err(at, problem);
          }
        }
      }
      if (s.type === "file")
        for (const field of ["path", "owner", "group"]) {
          const text = (s.params as Record<string, unknown>)[field];
          if (typeof text !== "string") continue;
          for (const m of text.matchAll(VALUE_REF)) {
            if (isSecretRef(m[1]!))
              err(
                [...s.at, s.type, field],
                `{{ ${m[1]} }} is a secret: a file's ${field} is printed in step names, plan and render; use it in the content only`,
              );
            // the inventory's own values are known now: one that is no path segment is refused
            // here, with its place, rather than when the step plans (core/interpolate.ts)
            const [root, name] = m[1]!.split(".");
            if (field === "path" && root === "vars" && name)
              for (const v of varsOf) {
                const value = v[name];
                if (value !== undefined && !isSegment(String(value)))
                  err(
                    [...s.at, s.type, field],
                    `{{ ${m[1]} }} is ${JSON.stringify(String(value))}: a value inserted into a file path must be one path segment (no '/', not '.' or '..', not empty)`,
                  );
              }
          }
        }
      const reg = (s.params as { register?: string; secret?: boolean }).register;
      if (reg) registered.add(reg);
      if (reg && (s.params as { secret?: boolean }).secret) secretRun.add(reg);
    }
    phase.handlers.forEach((h, hi) => {
      if (h.run) check(h.run, [...at, "handlers", hi, "run"], true);
      if (h.verify) check(h.verify, [...at, "handlers", hi, "verify"], true);
    });
  }
  return issues;
}

/** `{{ cluster.pki }} == cpoy`: a literal that no value of an enumerated field can equal. */
function enumMismatch(condition: string, fields: Record<string, z.ZodType>): string | undefined {
  const { left, op, right } = parseCondition(condition);
  if (!op) return undefined;
  const field = (s: string) => /^\{\{\s*cluster\.([A-Za-z]+)\s*\}\}$/.exec(s.trim())?.[1];
  for (const [a, b] of [
    [left, right],
    [right, left],
  ] as const) {
    const f = field(a);
    // mode: any mode's name may match (a playbook serves inventories of every mode)
    const options = f === "mode" ? [...HA_MODES] : f ? enumOptions(fields[f]) : undefined;
    const literal = b.trim();
    if (options && !literal.includes("{{") && !options.includes(literal))
      return `cluster.${f} is one of ${options.join(", ")}: "${literal}" can never match`;
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f]/;
const isSegment = (v: string) => v !== "" && v !== "." && v !== ".." && !v.includes("/") && !CONTROL.test(v);

/** A cluster field that holds settings (kubeVip, pacemaker…), not one value a template can insert. */
function isMapping(schema: z.ZodType | undefined): boolean {
  let t = schema as { _zod: { def: { type: string; innerType?: unknown } } } | undefined;
  while (t && ["optional", "default", "nullable", "pipe", "prefault"].includes(t._zod.def.type))
    t = (t._zod.def.innerType ?? (t._zod.def as { in?: unknown }).in) as typeof t;
  return t !== undefined && ["object", "record", "union"].includes(t._zod.def.type);
}

function enumOptions(schema: z.ZodType | undefined): string[] | undefined {
  let s = schema as
    { _zod: { def: { type: string; innerType?: unknown; entries?: Record<string, string> } } } | undefined;
  while (s && s._zod.def.type !== "enum") s = s._zod.def.innerType as typeof s;
  return s?._zod.def.entries ? Object.values(s._zod.def.entries) : undefined;
}
