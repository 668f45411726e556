import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { InputError, type InputIssue } from "../core/errors.js";
import { Inventory } from "./schema.js";
import { checkRules } from "./rules.js";
import { displayPath, YamlSource } from "./yaml-source.js";
import { fromZod, type Locator } from "./zod-issues.js";

export interface LoadedInventory {
  inventory: Inventory;
  files: string[];
  warnings: InputIssue[];
  /** Values that must never be printed; the caller adds them to the run's Redactor. */
  secrets: string[];
  locate: Locator;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Base for relative file names in messages. */
  cwd?: string;
}

/**
 * Loads one or more inventory files (or directories of *.yaml), merges them and validates the
 * result. Throws InputError listing every problem with file:line:col; nothing is contacted.
 * Merging: `hosts` lists are concatenated; `cluster`, `ssh` and `vars` may each appear in one file.
 */
export async function loadInventory(paths: string[], options: LoadOptions = {}): Promise<LoadedInventory> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const files = await expand(paths);
  const issues: InputIssue[] = [];
  const sources: YamlSource[] = [];
  const secrets: string[] = [];
  for (const file of files) {
    const display = displayPath(cwd, file);
    const { source, issues: parseIssues } = await YamlSource.read(file, display).catch(
      (e: NodeJS.ErrnoException) => {
        throw new InputError([
          {
            location: undefined,
            path: "",
            message: `cannot read inventory ${file}: ${e.code ?? e.message}`,
            severity: "error",
          },
        ]);
      },
    );
    issues.push(...parseIssues);
    const interp = source.interpolate(env);
    issues.push(...interp.issues);
    secrets.push(...interp.tagged);
    sources.push(source);
  }
  if (issues.some((i) => i.severity === "error")) throw new InputError(issues);

  const { merged, locate, mergeIssues } = merge(sources);
  issues.push(...mergeIssues);
  const parsed = Inventory.safeParse(merged);
  if (!parsed.success) {
    throw new InputError([...issues, ...fromZod(parsed.error, locate)]);
  }
  const inventory = parsed.data;
  issues.push(...checkRules(inventory, locate));
  if (issues.some((i) => i.severity === "error")) throw new InputError(issues);

  for (const s of [inventory.ssh.password, inventory.cluster.vrrpPassword]) if (s) secrets.push(s);
  return { inventory, files, warnings: issues, secrets, locate };
}

async function expand(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (st?.isDirectory()) {
      const names = (await readdir(p)).filter((n) => /\.ya?ml$/.test(n)).sort();
      if (names.length === 0) {
        throw new InputError([
          {
            location: undefined,
            path: "",
            message: `no *.yaml files in directory ${p}`,
            severity: "error",
          },
        ]);
      }
      out.push(...names.map((n) => join(p, n)));
    } else {
      out.push(p);
    }
  }
  if (out.length === 0) {
    throw new InputError([
      {
        location: undefined,
        path: "",
        message: "no inventory given (use -i FILE)",
        severity: "error",
      },
    ]);
  }
  return out;
}

function merge(sources: YamlSource[]): {
  merged: Record<string, unknown>;
  locate: Locator;
  mergeIssues: InputIssue[];
} {
  const merged: Record<string, unknown> = {};
  const owner = new Map<string, YamlSource>();
  const hostOrigin: { source: YamlSource; index: number }[] = [];
  const mergeIssues: InputIssue[] = [];
  for (const source of sources) {
    const js = source.toJS();
    if (js === null || js === undefined) continue;
    if (typeof js !== "object" || Array.isArray(js)) {
      mergeIssues.push({
        location: source.locate([]),
        path: "",
        message: "expected a mapping with cluster, ssh and hosts",
        severity: "error",
      });
      continue;
    }
    for (const [key, value] of Object.entries(js as Record<string, unknown>)) {
      if (key === "hosts" && Array.isArray(value)) {
        value.forEach((_, index) => hostOrigin.push({ source, index }));
        merged.hosts = [...((merged.hosts as unknown[] | undefined) ?? []), ...value];
        owner.set(key, owner.get(key) ?? source);
        continue;
      }
      const first = owner.get(key);
      if (first) {
        mergeIssues.push({
          location: source.locate([key]),
          path: key,
          message: `also defined in ${first.file}: "${key}" may appear in one inventory file only`,
          severity: "error",
        });
        continue;
      }
      owner.set(key, source);
      merged[key] = value;
    }
  }
  const locate: Locator = (path, key) => {
    const [top, index, ...rest] = path;
    if (top === "hosts" && typeof index === "number" && hostOrigin[index]) {
      const { source, index: local } = hostOrigin[index];
      return source.locate(["hosts", local, ...rest], key);
    }
    const source = typeof top === "string" ? owner.get(top) : undefined;
    return (source ?? sources[0])?.locate(path, key);
  };
  return { merged, locate, mergeIssues };
}
