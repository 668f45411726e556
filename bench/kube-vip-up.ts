/**
 * Design C (kube-vip: the VIP from a static pod with leader election on a Lease; the lab runs the
 * kube-vip stand-in, docker/README.md) on 3 fresh lab hosts: whole bring-up, no-op reruns, and
 * failover through the VIP after a hard kill (`docker kill`) of the leader, with kube-vip's default
 * lease timings (15/10/2 s) and a fast profile (5/3/1 s).
 *
 *   npx tsx bench/kube-vip-up.ts [runs=5]
 *
 * Needs Docker and the test-host image. Creates and removes its own lab ("benchkvip"). Prints
 * Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { readFileSync, writeFileSync } from "node:fs";
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
  until,
} from "./lab-bench.js";

const runs = runsArg();
const lab = benchLab("benchkvip", "kube-vip");
const vipUrl = `https://${lab.vip}:6443/healthz`;
const rows: string[] = [];
const kubeVipRunning = (h: string) => {
  try {
    return lab.sh(h, "systemctl is-active kubelet-pod-kube-vip || true") === "active";
  } catch {
    return false;
  }
};
try {
  const first = await lab.haprov(["up", "-y"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  rows.push(
    `| first up, whole bring-up (3 CP) | ${s(first.wallMs)} | apt (slowest host, per phase, summed): ${s(aptMs(first, ["prerequisites"]))} | ${first.sessions.join("/")} | ${first.rssMb.toFixed(0)} MB |`,
  );
  const noop: Sample[] = [];
  for (let i = 0; i < runs; i++) noop.push(await lab.haprov(["up", "-y"]));
  rows.push(
    `| no-op rerun ×${runs} | median ${s(median(noop.map((x) => x.wallMs)))} (${noop.map((x) => s(x.wallMs)).join(", ")}) | exit ${[...new Set(noop.map((x) => x.code))].join("/")} | ${noop[0]!.sessions.join("/")} | ${Math.max(...noop.map((x) => x.rssMb)).toFixed(0)} MB |`,
  );
  for (const profile of ["15/10/2", "5/3/1"]) {
    if (profile !== "15/10/2") {
      const [d, r, p] = profile.split("/");
      writeFileSync(
        lab.inv,
        readFileSync(lab.inv, "utf8").replace(
          "interface: eth0",
          `interface: eth0\n  kubeVip: { leaseDuration: ${d}, renewDeadline: ${r}, retryPeriod: ${p} }`,
        ),
      );
      const up = await lab.haprov(["up", "-y"]);
      if (up.code !== 0) throw new Error(`profile change failed:\n${up.stdout.slice(-3000)}`);
      await until("the VIP answering", () => get200(vipUrl));
    }
    const times: { ms: number; failed: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const h = lab.holder();
      if (!h) throw new Error("no VIP holder");
      times.push(await failover(vipUrl, () => lab.kill(h)));
      lab.start(h);
      await until(`${h}'s kube-vip running again`, () => kubeVipRunning(h));
      await until("the VIP answering", () => get200(vipUrl));
    }
    rows.push(
      `| failover after \`docker kill\` of the leader, lease ${profile} s ×${runs} (first 200 through the VIP) | median ${s(median(times.map((t) => t.ms)))} (${times.map((t) => s(t.ms)).join(", ")}) | failed requests (one every 20 ms): ${times.map((t) => t.failed).join(", ")} | — | — |`,
    );
  }
} finally {
  lab.down();
}

printDesignTable(["cp1", "cp2", "cp3"], rows);
