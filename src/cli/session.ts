import { dirname, isAbsolute, resolve } from "node:path";
import { interpolate } from "../core/interpolate.js";
import { InputError, type InputIssue } from "../core/errors.js";
import type { HostSpec } from "../core/host.js";
import { Redactor, Secret } from "../core/secret.js";
import type { StepContext } from "../core/step.js";
import type { HostConnection } from "../core/transport.js";
import { loadInventory, type LoadedInventory } from "../config/load-inventory.js";
import type { CompiledPlaybook } from "../engine/model.js";
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
  concurrency: number;
  contextFor(host: HostSpec, scope: RunScope): StepContext;
  /** One connection per host for the whole command: later calls get the same connection. */
  connect(host: HostSpec): Promise<HostConnection>;
  close(): Promise<void>;
  pool(): SshPool;
}

function usage(message: string, path = ""): InputError {
  const issue: InputIssue = { location: undefined, path, message, severity: "error" };
  return new InputError([issue], `invalid usage: ${path ? `${path}: ` : ""}${message}`);
}

export async function openSession(o: CommonOptions, needPlaybook: "required" | "optional"): Promise<Session> {
  if (o.inventory.length === 0) throw usage("give at least one inventory with -i FILE|DIR", "-i/--inventory");
  const concurrency = Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw usage("expected a whole number ≥ 1", "--concurrency");
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

  let playbook: LoadedPlaybook | undefined;
  let compiled: CompiledPlaybook | undefined;
  const ref = o.playbook ?? loaded.inventory.cluster.mode;
  let file: string | undefined;
  try {
    file = resolvePlaybook(ref);
  } catch (e) {
    if (o.playbook) throw e;
    if (needPlaybook === "required") {
      const mode = loaded.inventory.cluster.mode;
      throw usage(
        `HA mode ${mode} has no playbook yet: give --playbook prepare (host prerequisites) or your own playbook`,
        "--playbook",
      );
    }
  }
  if (file) playbook = await loadPlaybook(file);
  if (playbook) {
    checkTemplates(playbook);
    compiled = compilePlaybook(playbook, hosts, limit);
  }

  const ssh = loaded.inventory.ssh;
  let sudoPassword: Secret | undefined;
  if (o.askSudoPass) {
    if (!process.stdin.isTTY)
      throw usage("needs a terminal to ask; use ssh.sudoPasswordEnv instead", "--ask-sudo-pass");
    sudoPassword = new Secret(await askHidden("sudo password: "));
  } else if (ssh.sudoPasswordEnv) {
    const v = process.env[ssh.sudoPasswordEnv];
    if (v === undefined)
      throw usage(`environment variable ${ssh.sudoPasswordEnv} is not set`, "ssh.sudoPasswordEnv");
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
    contextFor(host, { registered, gathered }) {
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
        interpolate: (text) => interpolate(text, scope),
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

function checkTemplates(pb: LoadedPlaybook): void {
  const issues: InputIssue[] = [];
  pb.steps.forEach((phase, pi) =>
    phase.forEach((s, si) => {
      const t = (s.params as { template?: string }).template;
      if (s.type === "file" && t !== undefined && !(t in TEMPLATES)) {
        issues.push({
          location: undefined,
          path: `${pb.file}: phases[${pi}].steps[${si}].file.template`,
          message: `unknown template "${t}" (available: ${Object.keys(TEMPLATES).join(", ")})`,
          severity: "error",
        });
      }
    }),
  );
  if (issues.length > 0) throw new InputError(issues);
}
