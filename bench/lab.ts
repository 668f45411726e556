/**
 * Test-host image build (cold and cached) and `haprov lab up` / `lab down` times.
 *
 *   npx tsx bench/lab.ts [--cold]
 *
 * --cold removes the image and its debootstrap base first (about a minute and a half here).
 * Needs Docker, debootstrap and root. Prints a Markdown table for bench/RESULTS.md.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const cold = process.argv.includes("--cold");
const time = (fn: () => void) => {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
};
const build = () => execFileSync("bash", ["docker/build-image.sh"], { stdio: "ignore" });
const rows: [string, string][] = [];

if (cold) {
  spawnSync("docker", ["rmi", "-f", "haprov-testhost:latest", "haprov-bookworm-base:latest"], {
    stdio: "ignore",
  });
  spawnSync("docker", ["image", "prune", "-f"], { stdio: "ignore" });
  rows.push(["image build, cold (debootstrap base + layers)", `${time(build).toFixed(1)} s`]);
}
const cached = [1, 2, 3].map(() => time(build));
rows.push(["image build, cached (3 runs)", cached.map((t) => `${t.toFixed(2)} s`).join(", ")]);

const cwd = mkdtempSync(join(tmpdir(), "haprov-bench-lab-"));
const bin = resolve("bin/haprov.js");
for (const n of [3, 5]) {
  const up = time(() =>
    execFileSync(process.execPath, [bin, "lab", "up", "--name", `bench${n}`, "--hosts", String(n)], {
      cwd,
      stdio: "ignore",
    }),
  );
  const down = time(() =>
    execFileSync(process.execPath, [bin, "lab", "down", "--name", `bench${n}`], { cwd, stdio: "ignore" }),
  );
  rows.push([`haprov lab up, ${n} hosts (booted, keys in, inventory written)`, `${up.toFixed(2)} s`]);
  rows.push([`haprov lab down, ${n} hosts`, `${down.toFixed(2)} s`]);
}
rmSync(cwd, { recursive: true, force: true });

console.log(
  `${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpus()[0]?.model ?? "?"} · ${execFileSync("docker", ["version", "--format", "Docker {{.Server.Version}}"], { encoding: "utf8" }).trim()}\n`,
);
console.log("| what | time |\n| --- | --- |");
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
