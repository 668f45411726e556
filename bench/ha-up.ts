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
import { readFileSync, writeFileSync } from "node:fs";
import { get200 } from "../test/helpers/prober.js";
import { aptMs, events } from "./events.js";
import {
  benchLab,
  failover,
  median,
  runsArg,
  secs as s,
  type Sample,
  printDesignTable,
} from "./lab-bench.js";

const runs = runsArg();
const lab = benchLab("benchha", "keepalived-haproxy");
const vipUrl = `https://${lab.vip}:8443/healthz`;
const failoverOnly = process.argv.includes("--failover-only");
const rows: string[] = [];
const exits = (xs: Sample[]) => [...new Set(xs.map((x) => x.code))].join("/");
const rss = (xs: Sample[]) => `${Math.max(...xs.map((x) => x.rssMb)).toFixed(0)} MB`;
try {
  const first = await lab.haprov(["up", "-y", "--accept-new-host-keys"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  const phaseMs = (p: string) =>
    events(first).find((e) => e.event === "phase-end" && e.phase === p)?.durationMs ?? 0;
  rows.push(
    `| first up, whole HA bring-up (3 CP) | ${s(first.wallMs)} | apt (slowest host, per phase, summed): ${s(aptMs(first, ["prerequisites", "load balancer"]))} | ${first.sessions.join("/")} | ${first.rssMb.toFixed(0)} MB |`,
    `| first up, LB layer alone (prerequisites + load balancer + VIP gate phases) | ${s(phaseMs("prerequisites") + phaseMs("load balancer") + phaseMs("vip gate"))} | — | — | — |`,
  );

  if (!failoverOnly) {
    const noop: Sample[] = [];
    for (let i = 0; i < runs; i++) noop.push(await lab.haprov(["up", "-y"]));
    rows.push(
      `| no-op rerun ×${runs} | median ${s(median(noop.map((x) => x.wallMs)))} (${noop.map((x) => s(x.wallMs)).join(", ")}) | exit ${exits(noop)} | ${noop[0]!.sessions.join("/")} | ${rss(noop)} |`,
    );
    const plan = await lab.haprov(["plan"]);
    rows.push(
      `| plan, nothing to change | ${s(plan.wallMs)} | exit ${plan.code} | ${plan.sessions.join("/")} | ${rss([plan])} |`,
    );
    const drift: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      lab.sh("cp2", `echo '# drift ${i}' >> /etc/haproxy/haproxy.cfg`);
      lab.sh("cp3", "sysctl -qw net.ipv4.ip_nonlocal_bind=0");
      drift.push(await lab.haprov(["up", "-y"]));
    }
    rows.push(
      `| drift rerun ×${runs} (haproxy.cfg on cp2 + reload, a sysctl on cp3) | median ${s(median(drift.map((x) => x.wallMs)))} | exit ${exits(drift)} | ${drift[0]!.sessions.join("/")} | ${rss(drift)} |`,
    );
  }

  for (const profile of ["default", "fast"] as const) {
    if (profile === "fast") {
      writeFileSync(
        lab.inv,
        readFileSync(lab.inv, "utf8").replace(
          "virtualRouterId: 51",
          "virtualRouterId: 51\n  vrrpProfile: fast",
        ),
      );
      const r = await lab.haprov(["up", "-y"]);
      if (r.code !== 0) throw new Error(`switch to fast profile failed:\n${r.stdout.slice(-3000)}`);
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const h = lab.holder();
      if (!h) throw new Error("no VIP holder");
      times.push((await failover(vipUrl, () => lab.kill(h))).ms);
      lab.start(h);
      const address = new RegExp(`name: ${h}, address: (\\S+),`).exec(readFileSync(lab.inv, "utf8"))![1];
      const back = Date.now() + 90_000;
      while (!(await get200(`https://${address}:6443/healthz`))) {
        if (Date.now() > back) throw new Error(`${h} did not come back`);
        await new Promise((r) => setTimeout(r, 300));
      }
      const r = await lab.haprov(["up", "-y"]);
      if (r.code !== 0) throw new Error(`reconverge after kill failed:\n${r.stdout.slice(-3000)}`);
    }
    rows.push(
      `| VIP failover after \`docker kill\` of the holder, ${profile} profile ×${runs} (first 200 through the VIP) | median ${s(median(times))} (${times.map((t) => s(t)).join(", ")}) | — | — | — |`,
    );
  }
} finally {
  lab.down();
}

printDesignTable(["cp1", "cp2", "cp3"], rows);
