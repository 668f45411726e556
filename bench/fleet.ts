/**
 * Fleet scale (issue #15): design A on N lab hosts (3 control-plane + N−3 workers): a first `up`,
 * no-op reruns and drift reruns, each the whole haprov process: wall time, peak RSS, SSH logins
 * and exec sessions per host (counted in each host's own sshd log), and where a no-op's time goes
 * (from the run's --json event times).
 *
 *   npx tsx bench/fleet.ts [sizes=3,10,30,50] [runs=3] [--concurrency N]
 *
 * Drift = on one host in ten (the 2nd, 12th, 22nd … in inventory order) one managed file edited
 * and one service stopped: haproxy.cfg + keepalived on a control-plane node, the Kubernetes
 * sysctl file + the kubelet on a worker.
 *
 * Needs Docker and the test-host image (bash scripts/setup-machine.sh). Creates and removes its
 * own labs ("fleetN"). Prints Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { events } from "./events.js";
import { benchLab, machineLine, median, secs as s, type Sample } from "./lab-bench.js";

const arg = (i: number) => process.argv.slice(2).filter((a) => !a.startsWith("--"))[i];
const sizes = (arg(0) ?? "3,10,30,50").split(",").map(Number);
const runs = Number(arg(1) ?? 3);
const ci = process.argv.indexOf("--concurrency");
const extra = ci > 0 ? ["--concurrency", process.argv[ci + 1]!] : [];

const range = (xs: number[]) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
};
/** Per-host counts: "1" when every host has 1, else the spread and who stands out. */
const perHost = (xs: number[], hosts: string[]) => {
  const common = median(xs);
  const odd = hosts.filter((_, i) => xs[i] !== common).map((h) => `${h}: ${xs[hosts.indexOf(h)]}`);
  return odd.length === 0 ? String(common) : `${common} (${odd.join(", ")})`;
};

/** Where a run's time went, from its own event times: start-up, connect + first read, phases, exit. */
function timeline(x: Sample) {
  const ev = events(x) as { event: string; time?: string }[];
  const at = (name: string, last = false) => {
    const hits = ev.filter((e) => e.event === name && e.time);
    const e = last ? hits.at(-1) : hits[0];
    return e ? Date.parse(e.time!) : NaN;
  };
  const start = at("run-start");
  const connected = at("connect", true);
  const firstPhase = at("phase-start");
  const end = at("summary");
  return {
    startup: start - x.spawnedAt,
    connect: connected - start,
    read: firstPhase - connected,
    phases: end - firstPhase,
    exit: x.closedAt - end,
  };
}

const rows: string[] = [];
const profiles: string[] = [];
for (const n of sizes) {
  const lab = benchLab(`fleet${n}`, "keepalived-haproxy", 3, Math.max(0, n - 3));
  try {
    const run = (args: string[]) => lab.haprov([...args, ...extra]);
    const first = await run(["up", "-y"]);
    if (first.code !== 0) throw new Error(`first up on ${n} hosts failed:\n${first.stdout.slice(-4000)}`);
    rows.push(
      `| ${n} | first up | ${s(first.wallMs)} | ${first.rssMb.toFixed(0)} MB | ${range(first.logins)} | ${range(first.sessions)} |`,
    );
    const noop = [];
    for (let i = 0; i < runs; i++) noop.push(await run(["up", "-y"]));
    if (noop.some((x) => x.code !== 0)) throw new Error(`a no-op rerun on ${n} hosts failed`);
    rows.push(
      `| ${n} | no-op rerun ×${runs} | median **${s(median(noop.map((x) => x.wallMs)))}** (${noop.map((x) => s(x.wallMs)).join(", ")}) | ${Math.max(...noop.map((x) => x.rssMb)).toFixed(0)} MB | ${perHost(noop[0]!.logins, lab.hosts)} | ${perHost(noop[0]!.sessions, lab.hosts)} |`,
    );
    const t = noop.map(timeline);
    const med = (k: keyof ReturnType<typeof timeline>) => `${median(t.map((x) => x[k])).toFixed(0)} ms`;
    profiles.push(
      `| ${n} | ${med("startup")} | ${med("connect")} | ${med("read")} | ${med("phases")} | ${med("exit")} |`,
    );

    const drifted = lab.hosts.filter((_, i) => i % 10 === 1);
    const drift = [];
    for (let i = 0; i < runs; i++) {
      for (const h of drifted) {
        lab.sh(
          h,
          h.startsWith("cp")
            ? `echo '# drift ${i}' >> /etc/haproxy/haproxy.cfg && systemctl stop keepalived`
            : `echo '# drift ${i}' >> /etc/sysctl.d/99-kubernetes.conf && systemctl stop kubelet`,
        );
      }
      drift.push(await run(["up", "-y"]));
    }
    if (drift.some((x) => x.code !== 0))
      throw new Error(
        `a drift rerun on ${n} hosts failed:\n${drift.find((x) => x.code !== 0)!.stdout.slice(-3000)}`,
      );
    const changed = events(drift[0]!).filter(
      (e) => e.event === "step" && (e as { status?: string }).status === "changed",
    ).length;
    rows.push(
      `| ${n} | drift rerun ×${runs} (${drifted.join(", ")}: a file + a service each; ${changed} steps changed) | median ${s(median(drift.map((x) => x.wallMs)))} | ${Math.max(...drift.map((x) => x.rssMb)).toFixed(0)} MB | ${perHost(drift[0]!.logins, lab.hosts)} | ${perHost(drift[0]!.sessions, lab.hosts)} |`,
    );
    // progress on stderr as each size finishes, so a later size that fails loses nothing measured
    process.stderr.write(`fleet: ${n} hosts done\n${rows.slice(-3).join("\n")}\n${profiles.at(-1)}\n`);
  } finally {
    lab.down();
  }
}

console.log(`${machineLine()}${extra.length ? ` · ${extra.join(" ")}` : ""}\n`);
console.log(
  "| hosts | case | wall | peak RSS | SSH logins per host | exec sessions per host |\n| --- | --- | --- | --- | --- | --- |",
);
for (const r of rows) console.log(r);
console.log(
  "\nWhere a no-op rerun's time goes (median, from the run's own event times):\n\n| hosts | start-up (spawn → run-start) | lock + connect (→ last host connected) | first read + plan (→ first phase starts) | phases (→ recap) | exit |\n| --- | --- | --- | --- | --- | --- |",
);
for (const p of profiles) console.log(p);
