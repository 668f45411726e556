/**
 * A converged design A cluster on 3 fresh lab hosts: the no-op rerun and a drift rerun of this
 * haprov, interleaved run by run with another haprov (an older checkout, built), so a change in the
 * first read or around the run (the cluster-membership check, the lock, the steady endpoint after a
 * change) shows as a difference of medians on the same lab at the same time.
 *
 *   npx tsx bench/noop-vs.ts OTHER_CHECKOUT [runs=9]
 *   # e.g. git worktree add /tmp/haprov-old 9e5d17b && (cd /tmp/haprov-old && ln -s $PWD/node_modules && npm run build)
 *
 * Needs Docker and the test-host image (bash scripts/setup-machine.sh). Creates and removes its own
 * lab ("benchnoop"). Prints Markdown for bench/RESULTS.md. Measurements, not a timed test.
 */
import { resolve } from "node:path";
import { benchLab, machineLine, median, runsArg, secs, type Sample } from "./lab-bench.js";

const other = process.argv.slice(2).find((a) => !/^\d+$/.test(a));
if (!other) throw new Error("give the other haprov checkout: npx tsx bench/noop-vs.ts DIR [runs]");
const otherBin = resolve(other, "bin/haprov.js");
const runs = runsArg();
const lab = benchLab("benchnoop", "keepalived-haproxy");
try {
  const first = await lab.haprov(["up", "-y", "--accept-new-host-keys"]);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.stdout.slice(-4000)}`);
  const mine: Sample[] = [];
  const theirs: Sample[] = [];
  const mineDrift: Sample[] = [];
  const theirsDrift: Sample[] = [];
  const drift = () => lab.sh(lab.hosts[1]!, "echo '# drift' >> /etc/haproxy/haproxy.cfg");
  for (let i = 0; i < runs; i++) {
    mine.push(await lab.haprov(["up", "-y"]));
    theirs.push(await lab.haprov(["up", "-y"], otherBin));
    drift();
    mineDrift.push(await lab.haprov(["up", "-y"]));
    drift();
    theirsDrift.push(await lab.haprov(["up", "-y"], otherBin));
  }
  const row = (what: string, xs: Sample[]) =>
    `| ${what} | ${secs(median(xs.map((x) => x.wallMs)))} | ${secs(Math.min(...xs.map((x) => x.wallMs)))}–${secs(Math.max(...xs.map((x) => x.wallMs)))} | ${[...new Set(xs.map((x) => x.code))].join("/")} |`;
  console.log(`${machineLine()} · ${runs} runs each, interleaved\n`);
  console.log("| run | wall median | min–max | exit |\n| --- | --- | --- | --- |");
  console.log(row("no-op rerun, this checkout", mine));
  console.log(row(`no-op rerun, ${other}`, theirs));
  console.log(row("drift rerun (haproxy.cfg edited on one host), this checkout", mineDrift));
  console.log(row(`drift rerun, ${other}`, theirsDrift));
} finally {
  lab.down();
}
