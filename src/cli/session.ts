import { dirname, isAbsolute, resolve } from "node:path";
import { interpolate, interpolatePath, interpolateShell } from "../core/interpolate.js";
import { InputError, type InputIssue } from "../core/errors.js";
import type { HostSpec } from "../core/host.js";
import { Redactor, Secret } from "../core/secret.js";
import type { StepContext } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import { loadInventory, type LoadedInventory } from "../config/load-inventory.js";
import type { CompiledPlaybook } from "../core/phase.js";
import { formatPath } from "../config/yaml-source.js";
import { checkNames } from "../playbook/check-names.js";
import { aroundPhases, RECIPES, type Recipe } from "../recipes/index.js";
import type { RunScope } from "../engine/values.js";
import { compilePlaybook } from "../playbook/compile.js";
import { loadPlaybook, resolvePlaybook, type LoadedPlaybook } from "../playbook/load.js";
import { TEMPLATES } from "../recipes/templates.js";
import { SshPool } from "../transport/ssh-pool.js";
import { askHidden } from "./prompt.js";
import { resolveHosts } from "./resolve-hosts.js";

export interface CommonOptions {
  inventory: string[];
  playbook?: string;
  limit?: string;
  concurrency: string;
  json: boolean;
  yes: boolean;
  verbose: boolean;
  acceptNewHostKeys: boolean;
  askSudoPass: boolean;
}

/** Everything a verb needs, validated before any host is contacted. */
export interface Session {
  redactor: Redactor;
  loaded: LoadedInventory;
  hosts: HostSpec[];
  playbook: LoadedPlaybook | undefined;
  compiled: CompiledPlaybook | undefined;
  /** The inventory's HA mode. */
  recipe: Recipe;
  concurrency: number;
  contextFor(host: HostSpec, scope: RunScope): StepContext;
  /** One connection per host for the whole command: later calls get the same connection. */
  connect(host: HostSpec): Promise<HostConnection>;
  close(): Promise<void>;
  pool(): SshPool;
}

export function usageError(message: string, path = ""): InputError {
  const issue: InputIssue = { location: undefined, path, message, severity: "error" };
  return new InputError([issue], `invalid usage: ${path ? `${path}: ` : ""}${message}`);
}

/** `none`: the command runs an operation of its own (node remove), not the playbook. */
export async function openSession(
  o: CommonOptions,
  needPlaybook: "required" | "optional" | "none",
): Promise<Session> {
  if (o.inventory.length === 0)
    throw usageError("give at least one inventory with -i FILE|DIR", "-i/--inventory");
  const concurrency = Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw usageError("expected a whole number ≥ 1", "--concurrency");
  const redactor = new Redactor();
  const loaded = await loadInventory(o.inventory);
  for (const s of loaded.secrets) redactor.add(s);
  const hosts = await resolveHosts(loaded.inventory, loaded.files[0]!);
  const limit = o.limit
    ? o.limit
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

  const recipe = RECIPES[loaded.inventory.cluster.mode];
  addRecipeRules(loaded, recipe);
  const { playbook, compiled } =
    needPlaybook === "none"
      ? { playbook: undefined, compiled: undefined }
      : await loadAndCompile(o, needPlaybook, loaded, recipe, hosts, limit);

  const ssh = loaded.inventory.ssh;
  let sudoPassword: Secret | undefined;
  if (o.askSudoPass) {
    if (!process.stdin.isTTY)
      throw usageError("needs a terminal to ask; use ssh.sudoPasswordEnv instead", "--ask-sudo-pass");
    sudoPassword = new Secret(await askHidden("sudo password: "));
  } else if (ssh.sudoPasswordEnv) {
    const v = process.env[ssh.sudoPasswordEnv];
    if (v === undefined)
      throw usageError(`environment variable ${ssh.sudoPasswordEnv} is not set`, "ssh.sudoPasswordEnv");
    sudoPassword = new Secret(v);
  }
  redactor.add(sudoPassword);

  let pool: SshPool | undefined;
  const getPool = () =>
    (pool ??= new SshPool({
      knownHostsPath: knownHostsPath(loaded),
      acceptNewHostKeys: o.acceptNewHostKeys,
      ...(ssh.connectTimeoutMs ? { connectTimeoutMs: ssh.connectTimeoutMs } : {}),
      ...(ssh.password ? { password: new Secret(ssh.password) } : {}),
      ...(sudoPassword ? { sudoPassword } : {}),
      ...(ssh.useAgent !== undefined ? { useAgent: ssh.useAgent } : {}),
    }));
  const conns = new Map<string, Promise<HostConnection>>();
  const all = hosts.map((h) => ({ name: h.name, address: h.address, roles: h.roles }));
  return {
    redactor,
    loaded,
    hosts,
    playbook,
    compiled,
    concurrency,
    recipe,
    contextFor(host, runScope) {
      const { registered, gathered } = runScope;
      const scope = {
        cluster: loaded.inventory.cluster,
        host: {
          name: host.name,
          address: host.address,
          roles: host.roles,
          user: host.ssh.user,
          interface: host.interface,
          ...(host.priority === undefined ? {} : { priority: host.priority }),
        },
        hosts: all.map((h) => h.name),
        vars: host.vars,
        registered,
        gathered,
        /** This host's own answer to each gather so far. */
        self: Object.fromEntries(Object.entries(gathered).map(([k, v]) => [k, v[host.name] ?? ""])),
      };
      return {
        host,
        scope: runScope,
        interpolate: (text) => interpolate(text, scope),
        interpolateShell: (text) => interpolateShell(text, scope),
        interpolatePath: (text) => interpolatePath(text, scope),
        renderTemplate: (name) =>
          TEMPLATES[name]!({ inventory: loaded.inventory, host, hosts, values: registered, gathered }),
      };
    },
    connect(host) {
      let c = conns.get(host.name);
      if (!c) {
        c = getPool().connect(host);
        conns.set(host.name, c);
      }
      return c;
    },
    async close() {
      await Promise.all([...conns.values()].map((c) => c.then((x) => x.close()).catch(() => undefined)));
      await pool?.close();
    },
    pool: getPool,
  };
}

function knownHostsPath(loaded: LoadedInventory): string {
  const p = loaded.inventory.ssh.knownHosts;
  if (!p) return "~/.ssh/known_hosts";
  if (isAbsolute(p) || p.startsWith("~")) return p;
  return resolve(dirname(loaded.files[0]!), p);
}

/**
 * The playbook to run: --playbook, or the inventory's mode's own (`playbooks/<mode>.yaml`, which
 * names the recipe's phases). A mode whose recipe has no phases yet says so.
 */
async function loadAndCompile(
  o: CommonOptions,
  need: "required" | "optional",
  loaded: LoadedInventory,
  recipe: Recipe,
  hosts: HostSpec[],
  limit: string[] | undefined,
): Promise<{ playbook: LoadedPlaybook | undefined; compiled: CompiledPlaybook | undefined }> {
  const mode = loaded.inventory.cluster.mode;
  if (!o.playbook && !recipe.phases) {
    if (need === "optional") return { playbook: undefined, compiled: undefined };
    throw usageError(
      `HA mode ${mode} has no recipe yet: give --playbook prepare (host prerequisites) or your own playbook`,
      "--playbook",
    );
  }
  const playbook = await loadPlaybook(resolvePlaybook(o.playbook ?? mode));
  checkTemplates(playbook);
  const names = checkNames(playbook, loaded.inventory, playbook.recipe ? recipe.values : [], loaded.secrets);
  if (names.length > 0) throw new InputError(names);
  const input = { inventory: loaded.inventory, hosts, limit };
  const recipePhases =
    playbook.recipe && recipe.phases
      ? { mode, phases: recipe.phases(input), ...aroundPhases(recipe, input) }
      : undefined;
  return { playbook, compiled: compilePlaybook(playbook, hosts, limit, recipePhases) };
}

/** The mode's own inventory rules, located in the inventory like the generic ones. */
function addRecipeRules(loaded: LoadedInventory, recipe: Recipe): void {
  const issues = recipe.rules(loaded.inventory).map((r): InputIssue => ({
    location: loaded.locate(r.path),
    path: formatPath(r.path),
    message: r.message,
    severity: r.severity,
  }));
  loaded.warnings.push(...issues);
  if (issues.some((i) => i.severity === "error")) throw new InputError(loaded.warnings);
}

function checkTemplates(pb: LoadedPlaybook): void {
  const issues: InputIssue[] = [];
  for (const e of pb.entries) {
    if (e.kind !== "yaml") continue;
    for (const s of e.steps) {
      const t = (s.params as { template?: string }).template;
      if (s.type === "file" && t !== undefined && !(t in TEMPLATES)) {
        const at = [...s.at, "file", "template"];
        issues.push({
          location: pb.locate(at),
          path: formatPath(at),
          message: `unknown template "${t}" (available: ${Object.keys(TEMPLATES).join(", ")})`,
          severity: "error",
        });
      }
    }
  }
  if (issues.length > 0) throw new InputError(issues);
}
