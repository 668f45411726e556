/**
 * Design B (haproxy-pair: 2 dedicated LB hosts + 3 control-plane nodes, kubeadm stand-in) on 5 fresh
 * lab hosts: whole bring-up, no-op reruns, and failover through the VIP after `systemctl stop
 * haproxy` on the holder and after a hard kill (`docker kill`) of the holder, each with the prober's
 * count of failed requests. After each failover the primary is brought back and takes the VIP back
 * (preemption), and the next round starts from there.
 *
 *   npx tsx bench/pair-up.ts [runs=5]
 *
 * Needs Docker and the test-host image. Creates and removes its own lab ("benchpair"). Prints
 * Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { get200 } from "../test/helpers/prober.js";
import { aptMs } from "./events.js";
import {
  benchLab,
  failover,
  median,
  runsArg,
  secs as s,
  type Sample,
  printDesignTable,
  until as untilTrue,
} from "./lab-bench.js";

const runs = runsArg();
const lab = benchLab("benchpair", "haproxy-pair");
const vipUrl = `https://${lab.vip}:6443/healthz`;
const LBS = ["lb1", "lb2"];
const rows: string[] = [];
const until = (what: string, fn: () => boolean | Promise<boolean>, ms = 60_000) =>
  untilTrue(what, fn, ms, 200);
const primaryBack = () => until("lb1 holds the VIP again", () => lab.holder(LBS) === "lb1");
try {
  const first = await lab.haprov(["up", "-y"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  rows.push(
    `| first up, whole bring-up (2 LB + 3 CP) | ${s(first.wallMs)} | apt (slowest host, per phase, summed): ${s(aptMs(first, ["prerequisites", "load balancer"]))} | ${first.sessions.join("/")} | ${first.rssMb.toFixed(0)} MB |`,
  );
  const noop: Sample[] = [];
  for (let i = 0; i < runs; i++) noop.push(await lab.haprov(["up", "-y"]));
  rows.push(
    `| no-op rerun ×${runs} | median ${s(median(noop.map((x) => x.wallMs)))} (${noop.map((x) => s(x.wallMs)).join(", ")}) | exit ${[...new Set(noop.map((x) => x.code))].join("/")} | ${noop[0]!.sessions.join("/")} | ${Math.max(...noop.map((x) => x.rssMb)).toFixed(0)} MB |`,
  );

  const stopped: { ms: number; failed: number }[] = [];
  for (let i = 0; i < runs; i++) {
    await primaryBack();
    stopped.push(await failover(vipUrl, () => lab.sh("lb1", "systemctl stop haproxy")));
    lab.sh("lb1", "systemctl start haproxy");
  }
  const killed: { ms: number; failed: number }[] = [];
  for (let i = 0; i < runs; i++) {
    await primaryBack();
    killed.push(await failover(vipUrl, () => lab.kill("lb1")));
    lab.start("lb1");
    await until("lb1's sshd", async () => {
      try {
        return lab.sh("lb1", "systemctl is-active ssh") === "active";
      } catch {
        return false;
      }
    });
  }
  await primaryBack();
  if (!(await get200(vipUrl))) throw new Error("the VIP does not answer at the end");
  for (const [what, xs] of [
    ["`systemctl stop haproxy` on the holder", stopped],
    ["`docker kill` of the holder", killed],
  ] as const)
    rows.push(
      `| failover after ${what} ×${runs} (first 200 through the VIP) | median ${s(median(xs.map((x) => x.ms)))} (${xs.map((x) => s(x.ms)).join(", ")}) | failed requests (one every 20 ms): ${xs.map((x) => x.failed).join(", ")} | — | — |`,
    );
} finally {
  lab.down();
}

printDesignTable(["lb1", "lb2", "cp1", "cp2", "cp3"], rows);
