/**
 * Benchmark of haprov's core against a real OpenSSH sshd on loopback (three addresses = three
 * hosts), with the end-to-end test playbook (files, a template, guarded commands, a handler).
 *
 *   npx tsx bench/core-sshd.ts [runs]
 *
 * Needs root, openssh-server and sudo (as the e2e tests). Prints a Markdown table; copy it into
 * bench/RESULTS.md with the machine and date. It measures the whole `haprov` process (node start
 * included), sshd's own count of SSH logins and exec sessions per run, and peak RSS.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { SshPool } from "../src/transport/ssh-pool.js";
import { startSshd } from "../test/helpers/sshd.js";

const runs = Number(process.argv[2] ?? 5);
const sshd = await startSshd({ addresses: ["127.0.0.1", "127.0.0.2", "127.0.0.3"] });
const work = mkdtempSync(join(tmpdir(), "haprov-bench-"));
writeFileSync(join(work, "known_hosts"), sshd.knownHosts());
const inv = join(work, "inv.yaml");
writeFileSync(
  inv,
  `cluster: { name: bench, mode: etcd-local-proxy }
ssh: { user: root, port: ${sshd.port}, identityFile: ${sshd.clientKey}, knownHosts: known_hosts, sshConfig: false }
hosts:
  - { name: cp1, address: 127.0.0.1, roles: [control-plane, etcd] }
  - { name: cp2, address: 127.0.0.2, roles: [control-plane, etcd] }
  - { name: cp3, address: 127.0.0.3, roles: [control-plane, etcd] }
vars: { root: ${work}/hosts }
`,
);
const pb = join(work, "pb.yaml");
writeFileSync(
  pb,
  `name: bench
phases:
  - name: files
    steps:
      - file: { path: "{{ vars.root }}/{{ host.name }}/app.conf", content: "host {{ host.name }}\\n", mode: "0640", validate: "grep -q host %s" }
        notify: [reload]
      - file: { path: "{{ vars.root }}/{{ host.name }}/hosts", template: cluster-hosts }
      - command: { run: "touch {{ vars.root }}/{{ host.name }}/stamp", creates: "{{ vars.root }}/{{ host.name }}/stamp" }
    handlers:
      - { name: reload, run: "true" }
  - name: second
    steps:
      - file: { path: "{{ vars.root }}/{{ host.name }}/done", content: "ok\\n" }
`,
);

interface Sample {
  wallMs: number;
  rssKb: number;
  logins: number;
  sessions: number;
  code: number | null;
}
// Async spawn: a blocked event loop would stop draining sshd's log pipe and stall sshd itself.
async function haprov(args: string[]): Promise<Sample> {
  const loginsBefore = sshd.acceptedLogins();
  const sessionsBefore = (sshd.log().match(/Starting session: command/g) ?? []).length;
  const t0 = performance.now();
  const child = spawn(
    "/usr/bin/time",
    ["-f", "%M", process.execPath, "bin/haprov.js", ...args, "-i", inv, "--playbook", pb, "--json"],
    {
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const wallMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100)); // let sshd's last log lines arrive
  return {
    wallMs,
    rssKb: Number(stderr.trim().split("\n").pop()),
    code,
    logins: sshd.acceptedLogins() - loginsBefore,
    sessions: (sshd.log().match(/Starting session: command/g) ?? []).length - sessionsBefore,
  };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Cost of one trivial exec on this sshd through haprov's transport (one connection, median of 20). */
async function execLatencyMs(): Promise<number> {
  const pool = new SshPool({
    knownHostsPath: join(work, "known_hosts"),
    acceptNewHostKeys: false,
    useAgent: false,
  });
  const conn = await pool.connect({
    name: "cp1",
    address: "127.0.0.1",
    roles: [],
    interface: "eth0",
    priority: undefined,
    vars: {},
    ssh: {
      user: "root",
      port: sshd.port,
      identityFile: sshd.clientKey,
      hostname: "127.0.0.1",
      jump: undefined,
    },
  });
  const t: number[] = [];
  for (let i = 0; i < 20; i++) t.push((await conn.exec("true")).durationMs);
  await conn.close();
  return median(t);
}

const rows: [string, Sample[]][] = [];
rows.push(["first up (3 hosts, 5 changes each)", [await haprov(["up"])]]);
const noop: Sample[] = [];
for (let i = 0; i < runs; i++) noop.push(await haprov(["up"]));
rows.push(["no-op rerun (up)", noop]);
const plan: Sample[] = [];
for (let i = 0; i < runs; i++) plan.push(await haprov(["plan"]));
rows.push(["plan, nothing to change", plan]);
const drift: Sample[] = [];
for (let i = 0; i < runs; i++) {
  appendFileSync(join(work, "hosts", "cp2", "app.conf"), "drift\n");
  drift.push(await haprov(["up"]));
}
rows.push(["drift rerun (one file on one host)", drift]);
const latency = await execLatencyMs();
const version = spawnSync(process.execPath, ["bin/haprov.js", "version"], { encoding: "utf8" }).stdout.trim();

console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim()}; ${version}; runs=${runs}; ${new Date().toISOString().slice(0, 10)}`,
);
console.log(
  `One trivial exec on this sshd (haprov transport, open connection, median of 20): ${latency.toFixed(0)} ms\n`,
);
console.log(
  "| case | wall median (ms) | wall min–max (ms) | SSH logins / run | exec sessions / run (3 hosts) | peak RSS (MB) | exit |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const [name, s] of rows) {
  const w = s.map((x) => x.wallMs);
  console.log(
    `| ${name} | ${median(w).toFixed(0)} | ${Math.min(...w).toFixed(0)}–${Math.max(...w).toFixed(0)} | ${median(s.map((x) => x.logins))} | ${median(s.map((x) => x.sessions))} | ${(Math.max(...s.map((x) => x.rssKb)) / 1024).toFixed(0)} | ${[...new Set(s.map((x) => x.code))].join(",")} |`,
  );
}
await sshd.stop();
rmSync(work, { recursive: true, force: true });
