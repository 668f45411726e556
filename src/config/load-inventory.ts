import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isSecretOption } from "./fence-agents.js";
import { InputError, type InputIssue } from "../core/errors.js";
import { Inventory, otherModesField } from "./schema.js";
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
            message: readProblem("inventory", displayPath(cwd, file), e),
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

  const { merged, locate, mergeIssues, ownerOf } = merge(sources);
  issues.push(...mergeIssues);
  if (mergeIssues.some((i) => i.severity === "error")) throw new InputError(issues);
  const parsed = Inventory.safeParse(merged);
  if (!parsed.success) {
    throw new InputError([...issues, ...fromZod(parsed.error, locate, merged, otherModesField(merged))]);
  }
  const inventory = parsed.data;
  issues.push(...checkRules(inventory, locate));
  if (inventory.ssh.password && !ownerOf("ssh")?.isFromEnv(["ssh", "password"]))
    issues.push({
      location: locate(["ssh", "password"]),
      path: "ssh.password",
      message:
        "a password written in the inventory ends up in version control: write ${SSH_PASSWORD} and set it in the environment",
      severity: "warning",
    });
  issues.push(...(await checkKnownHosts(inventory, files[0]!, locate)));
  if (issues.some((i) => i.severity === "error")) throw new InputError(issues);

  const c = inventory.cluster;
  for (const s of [
    inventory.ssh.password,
    c.mode === "keepalived-haproxy" || c.mode === "haproxy-pair" ? c.vrrpPassword : undefined,
    c.mode === "pacemaker" ? c.pacemaker?.haclusterPassword : undefined,
    ...(c.mode === "kube-vip" ? (c.kubeVip.bgp?.peers.map((p) => p.password) ?? []) : []),
  ])
    if (s) secrets.push(s);
  // Fence devices' passwords, communities and keys are secrets too, whatever their YAML type (an
  // all-digit password is a number): issue #20.
  const fencing = c.mode === "pacemaker" ? c.pacemaker?.fencing : undefined;
  if (Array.isArray(fencing))
    for (const d of fencing)
      for (const [k, v] of Object.entries(d.options)) if (isSecretOption(d.agent, k)) secrets.push(String(v));
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
  ownerOf: (key: string) => YamlSource | undefined;
} {
  const merged: Record<string, unknown> = {};
  const owner = new Map<string, YamlSource>();
  const hostOrigin: { source: YamlSource; index: number }[] = [];
  const mergeIssues: InputIssue[] = [];
  for (const source of sources) {
    const { value: js, issues: readIssues } = source.toJS();
    mergeIssues.push(...readIssues);
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
  return { merged, locate, mergeIssues, ownerOf: (key) => owner.get(key) };
}

/** "no such file: inv.yaml" rather than ENOENT. */
export function readProblem(what: string, file: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "ENOENT":
      return `no such ${what} file: ${file}`;
    case "EACCES":
      return `${what} file ${file} cannot be read: permission denied`;
    case "EISDIR":
      return `${what} ${file} is a directory`;
    default:
      return `cannot read ${what} ${file}: ${e.message}`;
  }
}

/**
 * With --accept-new-host-keys haprov appends to the known_hosts file: refuse one that does not
 * parse as known_hosts (a mistyped path to a key or a config would be corrupted).
 */
async function checkKnownHosts(inv: Inventory, firstFile: string, locate: Locator): Promise<InputIssue[]> {
  const p = inv.ssh.knownHosts;
  if (!p) return [];
  const file = p.startsWith("~/")
    ? join(homedir(), p.slice(2))
    : isAbsolute(p)
      ? p
      : resolve(dirname(firstFile), p);
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return [];
  const bad = text.split("\n").findIndex((line) => !knownHostsLine(line));
  if (bad < 0) return [];
  return [
    {
      location: locate(["ssh", "knownHosts"]),
      path: "ssh.knownHosts",
      message: `${p} is not a known_hosts file (line ${bad + 1} is not "HOST KEYTYPE KEY"): haprov would append host keys to it`,
      severity: "error",
    },
  ];
}

/** A known_hosts line: empty, a comment, or [@marker] hosts keytype base64-key [comment]. */
export function knownHostsLine(line: string): boolean {
  const t = line.trim();
  if (t === "" || t.startsWith("#")) return true;
  const f = t.split(/\s+/);
  if (f[0]?.startsWith("@")) f.shift();
  return (
    f.length >= 3 && /^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+$/.test(f[1]!) && /^[A-Za-z0-9+/]+=*$/.test(f[2]!)
  );
}
