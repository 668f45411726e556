/**
 * Design D (pacemaker: Pacemaker/Corosync via pcs holding an IPaddr2 VIP and a cloned haproxy,
 * kubeadm stand-in) on 3 fresh lab hosts: whole bring-up (package install included), no-op reruns,
 * and failover through the VIP after a hard kill (`docker kill`) of the VIP node, with corosync's
 * default totem token (3000 ms) and with a tuned one (1000 ms). Fencing is disabled (a lab has
 * nothing to fence with), so recovery does not wait for a fence device as it would in production.
 *
 *   npx tsx bench/pacemaker-up.ts [runs=5]
 *
 * Needs Docker and the test-host image. Creates and removes its own lab ("benchpcmk"). Prints
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
const lab = benchLab("benchpcmk", "pacemaker");
const vipUrl = `https://${lab.vip}:8443/healthz`;
const rows: string[] = [];
const online = (h: string) => {
  try {
    return new RegExp(`<node name="${h}" [^>]*online="true"`).test(lab.sh(h, "crm_mon -1 --output-as=xml"));
  } catch {
    return false;
  }
};
try {
  const first = await lab.haprov(["up", "-y"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  rows.push(
    `| first up, whole bring-up (3 CP, pacemaker stack installed) | ${s(first.wallMs)} | apt (slowest host, per phase, summed): ${s(aptMs(first, ["prerequisites", "cluster stack"]))} | ${first.sessions.join("/")} | ${first.rssMb.toFixed(0)} MB |`,
  );
  const noop: Sample[] = [];
  for (let i = 0; i < runs; i++) noop.push(await lab.haprov(["up", "-y"]));
  rows.push(
    `| no-op rerun ×${runs} | median ${s(median(noop.map((x) => x.wallMs)))} (${noop.map((x) => s(x.wallMs)).join(", ")}) | exit ${[...new Set(noop.map((x) => x.code))].join("/")} | ${noop[0]!.sessions.join("/")} | ${Math.max(...noop.map((x) => x.rssMb)).toFixed(0)} MB |`,
  );
  for (const token of [3000, 1000]) {
    if (token !== 3000) {
      writeFileSync(
        lab.inv,
        readFileSync(lab.inv, "utf8").replace("fencing: disabled", `fencing: disabled, token: ${token}`),
      );
      const r = await lab.haprov(["up", "-y"]);
      if (r.code !== 0) throw new Error(`token change failed:\n${r.stdout.slice(-3000)}`);
    }
    const times: { ms: number; failed: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const h = lab.holder();
      if (!h) throw new Error("no VIP holder");
      times.push(await failover(vipUrl, () => lab.kill(h)));
      lab.start(h);
      await until(`${h} online in the cluster`, () => online(h));
      const r = await lab.haprov(["up", "-y"]);
      if (r.code !== 0) throw new Error(`reconverge after kill failed:\n${r.stdout.slice(-3000)}`);
      await until("the VIP answering", () => get200(vipUrl));
    }
    rows.push(
      `| failover after \`docker kill\` of the VIP node, totem token ${token} ms ×${runs} (first 200 through the VIP) | median ${s(median(times.map((t) => t.ms)))} (${times.map((t) => s(t.ms)).join(", ")}) | failed requests (one every 20 ms): ${times.map((t) => t.failed).join(", ")} | — | — |`,
    );
  }
} finally {
  lab.down();
}

printDesignTable(["cp1", "cp2", "cp3"], rows);
