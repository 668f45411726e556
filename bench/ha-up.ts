/**
 * Design A (keepalived + haproxy + kubeadm stand-in) on 3 fresh lab hosts:
 * first up (wall, apt share, LB layer alone), no-op reruns (wall, round trips per host), drift
 * reruns, VIP failover after a hard kill of the holder (default and fast VRRP profiles), peak RSS.
 *
 *   npx tsx bench/ha-up.ts [runs=5] [--failover-only]
 *
 * Needs Docker and the test-host image (bash scripts/setup-machine.sh). Creates and removes its own
 * lab ("benchha"). Prints Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { get200, startProber } from "../test/helpers/prober.js";

const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
const name = "benchha";
const cwd = mkdtempSync(join(tmpdir(), "haprov-bench-ha-"));
const bin = resolve("bin/haprov.js");
const inv = join(cwd, `inventories/lab.${name}.yaml`);
const hosts = ["cp1", "cp2", "cp3"];
const ctr = (h: string) => `haprov-${name}-${h}`;
const dsh = (h: string, cmd: string) =>
  execFileSync("docker", ["exec", ctr(h), "sh", "-c", cmd], { encoding: "utf8" }).trim();

interface Sample {
  wallMs: number;
  rssMb: number;
  code: number | null;
  stdout: string;
  /** exec sessions per host during the run (sshd's own log). */
  sessions: number[];
}
const sessionsNow = () =>
  hosts.map((h) =>
    Number(dsh(h, "journalctl -u ssh -o cat --no-pager | grep -c 'Starting session: command' || true")),
  );

async function haprov(args: string[], file = inv): Promise<Sample> {
  const before = sessionsNow();
  const t0 = performance.now();
  const child = spawn("/usr/bin/time", ["-f", "%M", process.execPath, bin, ...args, "-i", file, "--json"], {
    cwd,
    env: { ...process.env, CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  const wallMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300)); // journald catches up
  const after = sessionsNow();
  return {
    wallMs,
    rssMb: Number(stderr.trim().split("\n").pop()) / 1024,
    code,
    stdout,
    sessions: after.map((a, i) => a - before[i]!),
  };
}
type Ev = { event: string; phase?: string; step?: string; durationMs?: number; host?: string };
const events = (s: Sample): Ev[] =>
  s.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const holder = () => hosts.find((h) => dsh(h, "ip -4 -o addr show").includes(` ${vip}/`));

execFileSync(process.execPath, [bin, "lab", "up", "--name", name, "--hosts", "3"], { cwd, stdio: "ignore" });
const failoverOnly = process.argv.includes("--failover-only");
const vip = /vip: (\S+)/.exec(readFileSync(inv, "utf8"))![1]!;
const vipUrl = `https://${vip}:8443/healthz`;
// sshd logs each exec session at VERBOSE: the round-trip count per host
for (const h of hosts) dsh(h, "echo 'LogLevel VERBOSE' >> /etc/ssh/sshd_config && systemctl reload ssh");
const rows: string[] = [];
try {
  const first = await haprov(["up", "-y", "--accept-new-host-keys"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  const ev = events(first);
  const phaseMs = (p: string) => ev.find((e) => e.event === "phase-end" && e.phase === p)?.durationMs ?? 0;
  const apt = Math.max(
    ...ev.filter((e) => e.event === "step" && /packages/.test(e.step ?? "")).map((e) => e.durationMs ?? 0),
    0,
  );
  const aptTotal = ["prerequisites", "load balancer"]
    .map((p) =>
      Math.max(
        0,
        ...ev
          .filter((e) => e.event === "step" && e.phase === p && /packages/.test(e.step ?? ""))
          .map((e) => e.durationMs ?? 0),
      ),
    )
    .reduce((a, b) => a + b, 0);
  const lbLayer = phaseMs("prerequisites") + phaseMs("load balancer") + phaseMs("vip gate");
  rows.push(
    `| first up, whole HA bring-up (3 CP) | ${s(first.wallMs)} | apt (slowest host, per phase, summed): ${s(aptTotal)} (largest single install ${s(apt)}) | ${first.sessions.join("/")} | ${first.rssMb.toFixed(0)} MB |`,
  );
  rows.push(
    `| first up, LB layer alone (prerequisites + load balancer + VIP gate phases) | ${s(lbLayer)} | — | — | — |`,
  );

  if (!failoverOnly) await steadyState();
  async function steadyState() {
    const noop: Sample[] = [];
    for (let i = 0; i < runs; i++) noop.push(await haprov(["up", "-y"]));
    rows.push(
      `| no-op rerun ×${runs} | median ${s(median(noop.map((x) => x.wallMs)))} (${noop.map((x) => s(x.wallMs)).join(", ")}) | exit ${[...new Set(noop.map((x) => x.code))].join("/")} | ${noop[0]!.sessions.join("/")} | ${Math.max(...noop.map((x) => x.rssMb)).toFixed(0)} MB |`,
    );
    const plan = await haprov(["plan"]);
    rows.push(
      `| plan, nothing to change | ${s(plan.wallMs)} | exit ${plan.code} | ${plan.sessions.join("/")} | ${plan.rssMb.toFixed(0)} MB |`,
    );

    const drift: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      dsh("cp2", `echo '# drift ${i}' >> /etc/haproxy/haproxy.cfg`);
      dsh("cp3", "sysctl -qw net.ipv4.ip_nonlocal_bind=0");
      drift.push(await haprov(["up", "-y"]));
    }
    rows.push(
      `| drift rerun ×${runs} (haproxy.cfg on cp2 + reload, a sysctl on cp3) | median ${s(median(drift.map((x) => x.wallMs)))} | exit ${[...new Set(drift.map((x) => x.code))].join("/")} | ${drift[0]!.sessions.join("/")} | ${Math.max(...drift.map((x) => x.rssMb)).toFixed(0)} MB |`,
    );
  }

  for (const profile of ["default", "fast"] as const) {
    if (profile === "fast") {
      const text = readFileSync(inv, "utf8").replace(
        "virtualRouterId: 51",
        "virtualRouterId: 51\n  vrrpProfile: fast",
      );
      writeFileSync(inv, text);
      const r = await haprov(["up", "-y"]);
      if (r.code !== 0) throw new Error(`switch to fast profile failed:\n${r.stdout.slice(-3000)}`);
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const h = holder();
      if (!h) throw new Error("no VIP holder");
      const prober = startProber(vipUrl, 20);
      await new Promise((r) => setTimeout(r, 300));
      const killed = Date.now();
      execFileSync("docker", ["kill", ctr(h)], { stdio: "ignore" });
      const end = Date.now() + 20_000;
      while (prober.firstOkAfter(killed + 20) === undefined && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      await prober.stop();
      times.push(prober.firstOkAfter(killed + 20) ?? NaN);
      execFileSync("docker", ["start", ctr(h)], { stdio: "ignore" });
      const back = Date.now() + 90_000;
      while (
        !(await get200(
          `https://${readFileSync(inv, "utf8").match(new RegExp(`name: ${h}, address: (\\S+),`))![1]}:6443/healthz`,
        ))
      ) {
        if (Date.now() > back) throw new Error(`${h} did not come back`);
        await new Promise((r) => setTimeout(r, 300));
      }
      const r = await haprov(["up", "-y"]);
      if (r.code !== 0) throw new Error(`reconverge after kill failed:\n${r.stdout.slice(-3000)}`);
    }
    rows.push(
      `| VIP failover after \`docker kill\` of the holder, ${profile} profile ×${runs} (first 200 through the VIP) | median ${s(median(times))} (${times.map((t) => s(t)).join(", ")}) | — | — | — |`,
    );
  }
} finally {
  execFileSync(process.execPath, [bin, "lab", "down", "--name", name], { cwd, stdio: "ignore" });
  rmSync(cwd, { recursive: true, force: true });
}

console.log(
  `${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · ${execFileSync("docker", ["version", "--format", "Docker {{.Server.Version}}"], { encoding: "utf8" }).trim()}\n`,
);
console.log(
  "| case | wall | detail | exec sessions per host (cp1/cp2/cp3) | peak RSS |\n| --- | --- | --- | --- | --- |",
);
for (const r of rows) console.log(r);
