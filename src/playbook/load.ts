import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { packageRoot } from "../core/package-root.js";
import { InputError, type InputIssue } from "../core/errors.js";
import { displayPath, formatPath, YamlSource } from "../config/yaml-source.js";
import { fromZod } from "../config/zod-issues.js";
import { readProblem } from "../config/load-inventory.js";
import { STEP_TYPES } from "../steps/index.js";
import { placeholders } from "../steps/step.js";
import { PhaseEntry, PlaybookFile, RecipePhaseEntry } from "./schema.js";

/** The playbooks shipped with haprov (package root /playbooks). */
export const BUILTIN_PLAYBOOKS = join(packageRoot(), "playbooks");

export interface ParsedStep {
  name: string;
  type: string;
  params: unknown;
  notify: string[];
  /** Conditions (see core/when.ts); the step is skipped on hosts where one does not hold. */
  when: string[];
  /** Where the step is in the file, for messages. */
  at: PropertyKey[];
}

/** One entry of `phases:`: a phase of the playbook's recipe, or a phase written in YAML. */
export type PlaybookEntry =
  | { kind: "recipe"; name: string; at: PropertyKey[] }
  | { kind: "yaml"; phase: PhaseEntry; steps: ParsedStep[]; at: PropertyKey[] };

export interface LoadedPlaybook {
  file: string;
  name: string;
  description: string | undefined;
  /** The HA mode whose recipe phases the playbook names, if any. */
  recipe: string | undefined;
  entries: PlaybookEntry[];
  /** Locates a field of the file (file:line:col) for later checks. */
  locate(path: readonly PropertyKey[], key?: string): InputIssue["location"];
}

/** NAME → ./playbooks/NAME.yaml, then haprov's own playbooks/NAME.yaml; anything with a / or .yaml is a path. */
export function resolvePlaybook(ref: string, cwd = process.cwd()): string {
  if (ref.includes("/") || /\.ya?ml$/.test(ref)) return isAbsolute(ref) ? ref : resolve(cwd, ref);
  for (const dir of [join(cwd, "playbooks"), BUILTIN_PLAYBOOKS]) {
    const f = join(dir, `${ref}.yaml`);
    if (existsSync(f)) return f;
  }
  throw new InputError([
    {
      location: undefined,
      path: "--playbook",
      message: `no playbook named "${ref}" (looked in ./playbooks and ${BUILTIN_PLAYBOOKS}); give --playbook NAME or a path`,
      severity: "error",
    },
  ]);
}

/** Parses and validates a playbook, including every step's parameters, with file:line:col errors. */
export async function loadPlaybook(file: string, cwd = process.cwd()): Promise<LoadedPlaybook> {
  const display = displayPath(cwd, file);
  const { source, issues } = await YamlSource.read(file, display).catch((e: NodeJS.ErrnoException) => {
    throw new InputError([
      {
        location: undefined,
        path: "--playbook",
        message: readProblem("playbook", display, e),
        severity: "error",
      },
    ]);
  });
  if (issues.some((i) => i.severity === "error")) throw new InputError(issues);
  const js = source.toJS();
  if (js.issues.length > 0) throw new InputError(js.issues);
  const locate = (path: readonly PropertyKey[], key?: string) => source.locate(path, key);
  const parsed = PlaybookFile.safeParse(js.value);
  if (!parsed.success) throw new InputError(fromZod(parsed.error, locate, js.value));

  const problems: InputIssue[] = [];
  const err = (path: PropertyKey[], message: string, key?: string) =>
    problems.push({ location: locate(path, key), path: formatPath(path), message, severity: "error" });
  const entries = parsed.data.phases.flatMap((raw, pi): PlaybookEntry[] => {
    const at = ["phases", pi];
    if ("recipe" in raw) {
      const r = RecipePhaseEntry.safeParse(raw);
      if (!r.success) {
        problems.push(...fromZod(r.error, (p, k) => locate([...at, ...p], k)).map(within(at)));
        return [];
      }
      if (!parsed.data.recipe)
        err([...at, "recipe"], 'names a recipe phase, but the playbook has no top-level "recipe:"');
      return [{ kind: "recipe", name: r.data.recipe, at }];
    }
    const r = PhaseEntry.safeParse(raw);
    if (!r.success) {
      problems.push(...fromZod(r.error, (p, k) => locate([...at, ...p], k), raw).map(within(at)));
      return [];
    }
    return [{ kind: "yaml", phase: r.data, steps: parseSteps(r.data, at, err, problems, locate), at }];
  });
  if (problems.length > 0) throw new InputError(problems);
  return {
    file: display,
    name: parsed.data.name,
    description: parsed.data.description,
    recipe: parsed.data.recipe,
    entries,
    locate,
  };
}

const within = (at: PropertyKey[]) => (i: InputIssue) => ({
  ...i,
  path: formatPath(at) + (i.path ? `${i.path.startsWith("[") ? "" : "."}${i.path}` : ""),
});

function parseSteps(
  phase: PhaseEntry,
  at: PropertyKey[],
  err: (path: PropertyKey[], message: string, key?: string) => void,
  problems: InputIssue[],
  locate: (path: readonly PropertyKey[], key?: string) => InputIssue["location"],
): ParsedStep[] {
  const handlerNames = new Set(phase.handlers.map((h) => h.name));
  return phase.steps.flatMap((entry, si): ParsedStep[] => {
    const base = [...at, "steps", si];
    const typeKeys = Object.keys(entry).filter((k) => k !== "name" && k !== "notify" && k !== "when");
    const unknown = typeKeys.filter((k) => !(k in STEP_TYPES));
    for (const k of unknown)
      err(base, `unknown step type "${k}" (expected one of: ${Object.keys(STEP_TYPES).join(", ")})`, k);
    if (unknown.length > 0) return [];
    if (typeKeys.length !== 1) {
      err(
        base,
        `expected exactly one step type key, found ${typeKeys.length === 0 ? "none" : typeKeys.join(", ")}`,
      );
      return [];
    }
    const type = typeKeys[0]!;
    const stepType = STEP_TYPES[type]!;
    const params = stepType.params.safeParse((entry as Record<string, unknown>)[type]);
    if (!params.success) {
      problems.push(
        ...fromZod(params.error, (p, k) => locate([...base, type, ...p], k)).map((i) => ({
          ...i,
          path: `${formatPath([...base, type])}${i.path ? `.${i.path}` : ""}`,
        })),
      );
      return [];
    }
    entry.notify.forEach((n, ni) => {
      if (!handlerNames.has(n))
        err([...base, "notify", ni], `notifies "${n}", which is not a handler of phase "${phase.name}"`);
    });
    return [
      {
        name: placeholders(entry.name ?? stepType.describe(params.data as never)),
        type,
        params: params.data,
        notify: entry.notify,
        when: entry.when,
        at: base,
      },
    ];
  });
}
