import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haprov, jsonSummary, type CliResult } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";

/**
 * Issue #15 end to end on 10 lab hosts (real sshd, real flock): a converged rerun costs one login
 * and one exec per host (plus the run lock's own session on each control-plane host, issue #19),
 * and the run lock lets one run change the cluster at a time, whatever order an inventory lists
 * the hosts in.
 */
const NAMES = Array.from({ length: 10 }, (_, i) => (i < 3 ? `cp${i + 1}` : `w${i - 2}`));

describe.runIf(dockerAvailable())("ten hosts, one run at a time", () => {
  let lab: Lab;
  let inv: string;
  let slow: string;
  const sessions = async () =>
    Promise.all(
      NAMES.map(async (h) => {
        const log = (await lab.exec(h, "journalctl -u ssh -o cat --no-pager")).output;
        return {
          logins: (log.match(/Accepted publickey/g) ?? []).length,
          execs: (log.match(/Starting session: command/g) ?? []).length,
        };
      }),
    );
  /**
   * Until the background run holds the cluster's lock on every control-plane host (its holder file
   * written there): a fixed head start lost the race on a loaded 2-core CI machine, where the
   * second run locked first and the first one was refused.
   */
  const lockHeld = async () => {
    const end = Date.now() + 30_000;
    const held = async () =>
      (
        await Promise.all(
          NAMES.filter((n) => n.startsWith("cp")).map((h) =>
            lab.exec(h, "ls /run/lock/haprov/*.holder >/dev/null 2>&1"),
          ),
        )
      ).every((r) => r.exitCode === 0);
    while (!(await held())) {
      if (Date.now() > end) throw new Error("the first run never held the lock");
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  /** Starts a run in the background (as a user would, in another terminal). */
  const start = (args: string[]) => {
    const child = spawn(process.execPath, ["bin/haprov.js", ...args], {
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<CliResult>((r) => child.on("close", (code) => r({ code, stdout, stderr })));
    return { child, done };
  };

  beforeAll(async () => {
    lab = await startLab({ names: NAMES });
    const roles = Object.fromEntries(
      NAMES.map((n) => [n, n.startsWith("cp") ? "control-plane" : "worker"] as const),
    );
    inv = lab.inventory({ roles });
    slow = join(lab.dir, "slow.yaml");
    writeFileSync(
      slow,
      `name: slow\nphases:\n  - name: slow\n    hosts: all\n    steps:\n      - command: { run: "sleep 4 && touch /root/slow-done", creates: /root/slow-done }\n`,
    );
    await Promise.all(
      NAMES.map((h) =>
        lab.exec(h, "echo 'LogLevel VERBOSE' >> /etc/ssh/sshd_config && systemctl reload ssh"),
      ),
    );
  }, 180_000);
  afterAll(async () => lab?.destroy());

  it("prepare on 10 hosts, then a rerun: changed=0, one login and one exec per host (the lock's session aside)", async () => {
    const first = await haprov(["up", "-i", inv, "--playbook", "prepare", "-y", "--json"]);
    expect(first.code, first.stderr + first.stdout.slice(-2000)).toBe(0);
    const before = await sessions();
    const r = await haprov(["up", "-i", inv, "--playbook", "prepare", "-y", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(jsonSummary(r.stdout).hosts).every((h) => h.changed === 0)).toBe(true);
    await new Promise((res) => setTimeout(res, 500)); // journald catches up
    const after = await sessions();
    const delta = after.map((a, i) => ({
      logins: a.logins - before[i]!.logins,
      execs: a.execs - before[i]!.execs,
    }));
    expect(delta.map((d) => d.logins)).toEqual(NAMES.map(() => 1));
    // every control-plane host keeps the cluster's run lock on a session of its own, held for the run
    expect(delta.map((d) => d.execs)).toEqual(NAMES.map((n) => (n.startsWith("cp") ? 2 : 1)));
  }, 240_000);

  it("two runs started at once: exactly one proceeds, the other exits 1 naming the holder", async () => {
    const a = start(["up", "-i", inv, "--playbook", slow, "-y"]);
    await lockHeld();
    const b = await haprov(["up", "-i", inv, "--playbook", slow, "-y"]);
    const first = await a.done;
    expect(first.code, first.stderr).toBe(0);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(
      new RegExp(
        `cluster ${lab.id} is being changed by another run: up by \\S+@\\S+ \\(pid ${a.child.pid}\\) since \\S+ \\(lock held on cp1\\)`,
      ),
    );
    expect(b.stderr).toContain("--wait-lock");
    // the same with an inventory that lists the control-plane hosts in another order: still one
    // cluster, one lock (issue #19: the lock was on the first host in inventory order, so each of
    // the two runs locked a different host and both went on)
    const reordered = join(lab.dir, "reordered.yaml");
    const text = readFileSync(inv, "utf8");
    const cpLines = text.split("\n").filter((l) => /name: cp\d/.test(l));
    writeFileSync(reordered, text.replace(cpLines.join("\n"), [...cpLines].reverse().join("\n")));
    expect(readFileSync(reordered, "utf8")).toMatch(/name: cp3[^]*name: cp2[^]*name: cp1/);
    await Promise.all(NAMES.map((h) => lab.exec(h, "rm -f /root/slow-done")));
    const c = start(["up", "-i", inv, "--playbook", slow, "-y"]);
    await lockHeld();
    const d = await haprov(["up", "-i", reordered, "--playbook", slow, "-y"]);
    expect((await c.done).code).toBe(0);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stderr).toMatch(/is being changed by another run: up by \S+ \(pid \d+\)/);
    // plan takes no lock and says nothing once the run is over
    const plan = await haprov(["plan", "-i", inv, "--playbook", slow]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).not.toContain("a run is changing this cluster now");
  }, 120_000);

  it("with --wait-lock the second run goes after the first and has nothing left to do; plan meanwhile says a run is in progress", async () => {
    await Promise.all(NAMES.map((h) => lab.exec(h, "rm -f /root/slow-done")));
    const a = start(["up", "-i", inv, "--playbook", slow, "-y"]);
    await lockHeld();
    const plan = await haprov(["plan", "-i", inv, "--playbook", slow]);
    expect(plan.stdout).toMatch(
      new RegExp(`a run is changing this cluster now: up by \\S+ \\(pid ${a.child.pid}\\)`),
    );
    const b = await haprov(["up", "-i", inv, "--playbook", slow, "-y", "--json", "--wait-lock", "60s"]);
    expect((await a.done).code).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/waiting for the lock/);
    expect(Object.values(jsonSummary(b.stdout).hosts).every((h) => h.changed === 0)).toBe(true);
  }, 120_000);

  it("a run killed with SIGKILL mid-run leaves no lock behind: the next run gets it within 10 s", async () => {
    await Promise.all(NAMES.map((h) => lab.exec(h, "rm -f /root/slow-done")));
    const a = start(["up", "-i", inv, "--playbook", slow, "-y"]);
    await new Promise((res) => setTimeout(res, 1500));
    a.child.kill("SIGKILL");
    const killed = Date.now();
    await a.done;
    let freeAfter: number | undefined;
    while (Date.now() - killed < 15_000) {
      const p = await haprov(["plan", "-i", inv, "--playbook", slow]);
      if (!p.stdout.includes("a run is changing this cluster now")) {
        freeAfter = Date.now() - killed;
        break;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    console.log(`run lock free ${freeAfter} ms after the holder was killed`);
    expect(freeAfter).toBeDefined();
    expect(freeAfter!).toBeLessThanOrEqual(10_000);
    const next = await haprov(["up", "-i", inv, "--playbook", slow, "-y"]);
    expect(next.code, next.stderr).toBe(0);
  }, 120_000);
});
