/**
 * `haprov node remove` on a lab of 4 control-plane nodes (issue #21): a planned removal of the VIP
 * holder (or kube-vip's leader) while a request goes through the endpoint every 20 ms, then a dead
 * node removed with --unreachable; wall time of each and the requests that failed meanwhile.
 *
 *   npx tsx bench/node-remove.ts [keepalived-haproxy|pacemaker|kube-vip|haproxy-pair]
 *
 * Needs Docker and the test-host image (bash scripts/setup-machine.sh). Creates and removes its own
 * lab ("benchrm"). Prints Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { startProber } from "../test/helpers/prober.js";
import { benchLab, machineLine, secs as s } from "./lab-bench.js";

const mode = process.argv.slice(2).find((a) => !a.startsWith("-")) ?? "keepalived-haproxy";
const lab = benchLab("benchrm", mode, 4);
const port = mode === "kube-vip" ? 6443 : 8443;
const url = `https://${lab.vip}:${port}/readyz`;
const cps = lab.hosts.filter((h) => h.startsWith("cp"));
const rows: string[] = [];
try {
  const first = await lab.haprov(["up", "-y", "--accept-new-host-keys"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  // haproxy-pair: the VIP is on the LB pair; the node removed is then simply the first one
  const target = lab.holder(cps) ?? cps[0]!;
  const prober = startProber(url, 20);
  await new Promise((r) => setTimeout(r, 300));
  const planned = await lab.haprov(["node", "remove", target, "-y"]);
  await new Promise((r) => setTimeout(r, 300));
  const sent = (await prober.stop()).length;
  if (planned.code !== 0) throw new Error(`node remove failed:\n${planned.stdout.slice(-4000)}`);
  rows.push(
    `| ${mode}: planned removal of ${target}${lab.holder(cps) === undefined && mode === "haproxy-pair" ? "" : " (the VIP holder / leader before)"} | ${s(planned.wallMs)} | ${prober.failed()} of ${sent} | ${planned.sessions.join("/")} |`,
  );

  const dead = cps.filter((h) => h !== target).at(-1)!;
  lab.kill(dead);
  const prober2 = startProber(url, 20);
  await new Promise((r) => setTimeout(r, 300));
  const unreachable = await lab.haprov(["node", "remove", dead, "--unreachable", "-y"]);
  await new Promise((r) => setTimeout(r, 300));
  const sent2 = (await prober2.stop()).length;
  if (unreachable.code !== 0)
    console.error(`node remove --unreachable failed:\n${unreachable.stdout.slice(-6000)}`);
  rows.push(
    `| ${mode}: ${dead} killed, then removed with --unreachable | ${s(unreachable.wallMs)} (exit ${unreachable.code}) | ${prober2.failed()} of ${sent2} | ${unreachable.sessions.join("/")} |`,
  );
} finally {
  lab.down();
}
console.log(`${machineLine()}\n`);
console.log(
  "| case | wall | requests through the endpoint failed (one every 20 ms) | exec sessions per host |\n| --- | --- | --- | --- |",
);
for (const r of rows) console.log(r);
