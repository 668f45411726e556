/**
 * What the HA benches share: a throw-away `haprov lab` of one mode, the whole haprov process run
 * and measured (wall, peak RSS, exec sessions per host counted in each host's own sshd log), and
 * the failover measurement with a prober through the VIP. Measurements, not timed tests.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { startProber } from "../test/helpers/prober.js";

export interface Sample {
  wallMs: number;
  /** Epoch ms when the process was spawned and when it closed (for event-time profiles). */
  spawnedAt: number;
  closedAt: number;
  rssMb: number;
  code: number | null;
  stdout: string;
  /** exec sessions per host during the run (sshd's own log). */
  sessions: number[];
  /** SSH logins per host during the run (sshd's own log). */
  logins: number[];
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const runsArg = () => Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);

export function machineLine(): string {
  const docker = execFileSync("docker", ["version", "--format", "Docker {{.Server.Version}}"], {
    encoding: "utf8",
  });
  return `${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · ${docker.trim()}`;
}

export interface BenchLab {
  inv: string;
  vip: string;
  hosts: string[];
  /** docker exec on a lab host. */
  sh(host: string, cmd: string): string;
  container(host: string): string;
  /** One haprov run on the lab (`bin`: another checkout's bin/haprov.js, for A/B figures). */
  haprov(args: string[], bin?: string): Promise<Sample>;
  /** SIGKILL to a host's container (no goodbye: no VRRP priority 0, no lease release). */
  kill(host: string): void;
  start(host: string): void;
  /** The host that holds the VIP now, if any answers. */
  holder(candidates?: string[]): string | undefined;
  down(): void;
}

/** `haprov lab up --mode MODE`, with sshd logging every exec session (the round-trip count). */
export function benchLab(name: string, mode: string, controlPlanes = 3, workers = 0): BenchLab {
  const cwd = mkdtempSync(join(tmpdir(), `haprov-bench-${name}-`));
  const bin = resolve("bin/haprov.js");
  execFileSync(
    process.execPath,
    [
      bin,
      "lab",
      "up",
      "--name",
      name,
      "--mode",
      mode,
      "--hosts",
      String(controlPlanes),
      "--workers",
      String(workers),
    ],
    {
      cwd,
      stdio: "ignore",
    },
  );
  const inv = join(cwd, `inventories/lab.${name}.yaml`);
  const text = readFileSync(inv, "utf8");
  const hosts = [...text.matchAll(/name: ([a-z0-9]+), address/g)].map((m) => m[1]!);
  const counts = (h: string) => {
    let out = "";
    try {
      out = sh(
        h,
        "journalctl -u ssh -o cat --no-pager > /tmp/sshd.log; grep -c 'Accepted publickey' /tmp/sshd.log; grep -c 'Starting session: command' /tmp/sshd.log; true",
      );
    } catch {
      return { logins: 0, execs: 0 }; // a host the bench killed
    }
    const [logins, execs] = out.split("\n").map(Number);
    return { logins: logins ?? 0, execs: execs ?? 0 };
  };
  const vip = /vip: (\S+)/.exec(text)?.[1] ?? "";
  const container = (h: string) => `haprov-${name}-${h}`;
  const sh = (h: string, cmd: string) =>
    execFileSync("docker", ["exec", container(h), "sh", "-c", cmd], { encoding: "utf8" }).trim();
  for (const h of hosts) sh(h, "echo 'LogLevel VERBOSE' >> /etc/ssh/sshd_config && systemctl reload ssh");
  const sessionsNow = () => hosts.map(counts);
  return {
    inv,
    vip,
    hosts,
    sh,
    container,
    async haprov(args, otherBin) {
      const before = sessionsNow();
      const spawnedAt = Date.now();
      const t0 = performance.now();
      const child = spawn(
        "/usr/bin/time",
        ["-f", "%M", process.execPath, otherBin ?? bin, ...args, "-i", inv, "--json"],
        {
          cwd,
          env: { ...process.env, CI: "true" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => child.on("close", r));
      const wallMs = performance.now() - t0;
      const closedAt = Date.now();
      await new Promise((r) => setTimeout(r, 300)); // journald catches up
      const after = sessionsNow();
      return {
        wallMs,
        spawnedAt,
        closedAt,
        rssMb: Number(stderr.trim().split("\n").pop()) / 1024,
        code,
        stdout,
        sessions: after.map((a, i) => a.execs - before[i]!.execs),
        logins: after.map((a, i) => a.logins - before[i]!.logins),
      };
    },
    kill: (h) => void execFileSync("docker", ["kill", container(h)], { stdio: "ignore" }),
    start: (h) => void execFileSync("docker", ["start", container(h)], { stdio: "ignore" }),
    holder(candidates = hosts) {
      return candidates.find((h) => {
        try {
          return sh(h, "ip -4 -o addr show").includes(` ${vip}/`);
        } catch {
          return false;
        }
      });
    },
    down() {
      execFileSync(process.execPath, [bin, "lab", "down", "--name", name], { cwd, stdio: "ignore" });
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a prober (a request every 20 ms) through `url`, runs `trigger`, and returns how long after
 * it the first request started after it answered 200, and how many requests failed meanwhile.
 */
export async function failover(url: string, trigger: () => void): Promise<{ ms: number; failed: number }> {
  const prober = startProber(url, 20);
  await new Promise((r) => setTimeout(r, 300));
  const at = Date.now();
  trigger();
  const end = Date.now() + 30_000;
  while (prober.firstOkAfter(at + 20) === undefined && Date.now() < end)
    await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  await prober.stop();
  return { ms: prober.firstOkAfter(at + 20) ?? NaN, failed: prober.failed() };
}

/** Polls `fn` until it is true; throws naming `what` after `ms`. */
export async function until(
  what: string,
  fn: () => boolean | Promise<boolean>,
  ms = 120_000,
  everyMs = 300,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The machine line and the table every design bench prints, in Markdown for RESULTS.md. */
export function printDesignTable(hosts: string[], rows: string[]): void {
  console.log(`${machineLine()}\n`);
  console.log(
    `| case | wall | detail | exec sessions per host (${hosts.join("/")}) | peak RSS |\n| --- | --- | --- | --- | --- |`,
  );
  for (const r of rows) console.log(r);
}
