import { spawn } from "node:child_process";
import { haprov as run, type CliResult } from "../helpers/haprov-cli.js";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
  appendFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOPW_USER, startSshd, sshdAvailable, type Sshd } from "../helpers/sshd.js";

/**
 * `haprov validate / plan / up / status` as a user runs them: the built CLI, a real sshd listening
 * on three loopback addresses (three "hosts"), a playbook that writes under a temporary directory.
 */
const VRRP = "Vr9%xQ2z";
const TOKEN = "tok-4a7f19c2e8d3b650";

const outputs: string[] = [];
async function haprov(args: string[]): Promise<CliResult> {
  const r = await run(args, { env: { HAPROV_TEST_VRRP: VRRP } });
  outputs.push(r.stdout, r.stderr);
  return r;
}
function events(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
function summary(stdout: string) {
  return events(stdout).find((e) => e.event === "summary")!.summary as {
    hosts: Record<
      string,
      { ok: number; changed: number; failed: number; skipped: number; unreachable: boolean }
    >;
  };
}
const total = (s: ReturnType<typeof summary>, k: "changed" | "failed" | "ok") =>
  Object.values(s.hosts).reduce((a, h) => a + h[k], 0);

describe.runIf(sshdAvailable())("haprov CLI against real sshd hosts", () => {
  let sshd: Sshd;
  let work: string;
  let inv: string;
  let pb: string;
  beforeAll(async () => {
    sshd = await startSshd({ addresses: ["127.0.0.1", "127.0.0.2", "127.0.0.3"] });
    work = mkdtempSync(join(tmpdir(), "haprov-cli-e2e-"));
    writeFileSync(join(work, "known_hosts"), sshd.knownHosts());
    inv = join(work, "inventory.yaml");
    writeFileSync(
      inv,
      `cluster:
  name: e2e
  # No VIP: loopback addresses stand for the hosts here, and a loopback VIP is refused.
  mode: etcd-local-proxy
ssh:
  user: root
  port: ${sshd.port}
  identityFile: ${sshd.clientKey}
  knownHosts: known_hosts
  sshConfig: false
hosts:
  - { name: cp1, address: 127.0.0.1, roles: [control-plane, etcd] }
  - { name: cp2, address: 127.0.0.2, roles: [control-plane, etcd] }
  - { name: cp3, address: 127.0.0.3, roles: [control-plane, etcd], user: ${NOPW_USER} }
vars:
  token: !secret ${TOKEN}
  auth: !secret \${HAPROV_TEST_VRRP}
  root: ${work}/hosts
`,
    );
    pb = join(work, "e2e.yaml");
    writeFileSync(
      pb,
      `name: e2e
phases:
  - name: files
    hosts: all
    steps:
      - name: app config
        file:
          path: "${work}/hosts/{{ host.name }}/app.conf"
          content: "cluster {{ cluster.name }}\\nhost {{ host.name }}\\nauth {{ vars.auth }} {{ vars.token }}\\n"
          mode: "0640"
          validate: "grep -q '^cluster ' %s"
        notify: [reload app]
      - name: cluster hosts
        file: { path: "${work}/hosts/{{ host.name }}/hosts", template: cluster-hosts }
      - name: one-off stamp
        command: { run: "date +%s > {{ vars.root }}/{{ host.name }}/stamp", creates: "{{ vars.root }}/{{ host.name }}/stamp" }
      - name: fail on demand
        command: { run: "echo failing on purpose >&2; exit 1", unless: "test ! -e {{ vars.root }}/{{ host.name }}/fail" }
    handlers:
      - name: reload app
        run: "echo reloaded >> ${work}/handler.log"
  - name: after
    hosts: all
    gather:
      - { name: shared, script: "cat {{ vars.root }}/{{ host.name }}/shared", secret: true, generate: { length: 12 } }
    steps:
      - file: { path: "${work}/hosts/{{ host.name }}/done", content: "ok\\n" }
      - name: shared secret
        file: { path: "${work}/hosts/{{ host.name }}/shared", content: "{{ registered.shared }}", mode: "0600", secret: true }
`,
    );
  });
  afterAll(async () => {
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });
  const file = (host: string, name: string) => join(work, "hosts", host, name);
  const handlerRuns = () =>
    existsSync(join(work, "handler.log"))
      ? readFileSync(join(work, "handler.log"), "utf8").split("\n").filter(Boolean).length
      : 0;

  it("validate contacts nothing and exits 0", async () => {
    const before = sshd.acceptedLogins();
    const r = await haprov(["validate", "-i", inv, "--playbook", pb]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inventory OK: cluster e2e, mode etcd-local-proxy, 3 host\(s\)/);
    expect(sshd.acceptedLogins()).toBe(before);
  });

  it("plan shows diffs, writes nothing and exits 2", async () => {
    const r = await haprov(["plan", "-i", inv, "--playbook", pb]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/\[files\] cp2: changed {1}app config: would create .*cp2\/app.conf/);
    expect(r.stdout).toContain("+host cp2");
    expect(r.stdout).toContain("+auth *** ***");
    expect(existsSync(file("cp1", "app.conf"))).toBe(false);
  });

  it("up converges every host with one SSH connection each", async () => {
    const before = sshd.acceptedLogins();
    const r = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code, r.stdout).toBe(0);
    const s = summary(r.stdout);
    expect(total(s, "failed")).toBe(0);
    expect(Object.values(s.hosts).map((h) => h.changed)).toEqual([6, 6, 6]); // 5 steps + handler
    expect(sshd.acceptedLogins() - before).toBe(3);
    for (const h of ["cp1", "cp2", "cp3"]) {
      expect(readFileSync(file(h, "app.conf"), "utf8")).toBe(
        `cluster e2e\nhost ${h}\nauth ${VRRP} ${TOKEN}\n`,
      );
      expect((statSync(file(h, "app.conf")).mode & 0o777).toString(8)).toBe("640");
      expect(statSync(file(h, "app.conf")).uid).toBe(0); // cp3 logs in as a sudo user
      expect(readFileSync(file(h, "hosts"), "utf8")).toContain("127.0.0.3\tcp3");
    }
    expect(handlerRuns()).toBe(3);
    const steps = events(r.stdout).filter((e) => e.event === "step");
    expect(steps[0]).toMatchObject({
      host: expect.any(String),
      step: expect.any(String),
      status: "changed",
      changed: true,
      durationMs: expect.any(Number),
    });
  });

  it("a second up changes nothing, and plan then exits 0", async () => {
    const stamp = readFileSync(file("cp1", "stamp"), "utf8");
    const r = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    expect(r.code).toBe(0);
    const s = summary(r.stdout);
    expect(total(s, "changed")).toBe(0);
    expect(total(s, "ok")).toBe(18);
    expect(handlerRuns()).toBe(3);
    expect(readFileSync(file("cp1", "stamp"), "utf8")).toBe(stamp);
    const messages = events(r.stdout)
      .filter((e) => e.event === "step")
      .map((e) => e.message as string);
    expect(messages).toContain(`${file("cp2", "app.conf")} already matches`);
    expect((await haprov(["plan", "-i", inv, "--playbook", pb])).code).toBe(0);
  });

  it("the process ends right after its recap: the run lock is released and nothing is left pending", async () => {
    // Regression: a grace timer of the lock's channel kept every run alive 5 s after the recap.
    const child = spawn(process.execPath, ["bin/haprov.js", "up", "-i", inv, "--playbook", pb, "--json"], {
      env: { ...process.env, HAPROV_TEST_VRRP: VRRP },
    });
    let stdout = "";
    let recapAt = 0;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (!recapAt && stdout.includes('"event":"summary"')) recapAt = Date.now();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    outputs.push(stdout);
    expect(code).toBe(0);
    expect(recapAt).toBeGreaterThan(0);
    expect(Date.now() - recapAt).toBeLessThan(2000);
  });

  it("drift on one host: plan names exactly it, up fixes exactly it", async () => {
    appendFileSync(file("cp2", "app.conf"), "edited by hand\n");
    const plan = await haprov(["plan", "-i", inv, "--playbook", pb, "--json"]);
    expect(plan.code).toBe(2);
    const changed = events(plan.stdout).filter((e) => e.event === "step" && e.status === "changed");
    expect(changed.map((e) => `${e.host} ${e.step}`)).toEqual(["cp2 app config"]);
    expect(changed[0]!.diff).toContain("-edited by hand");
    const up = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    expect(up.code).toBe(0);
    expect(Object.entries(summary(up.stdout).hosts).map(([h, t]) => [h, t.changed])).toEqual([
      ["cp1", 0],
      ["cp2", 2],
      ["cp3", 0],
    ]);
    expect(readFileSync(file("cp2", "app.conf"), "utf8")).not.toContain("edited");
    expect(handlerRuns()).toBe(4);
  });

  it("a failure stops the host's later steps and phases, exits 1, and the owed handler runs next time", async () => {
    appendFileSync(file("cp1", "app.conf"), "drift\n");
    writeFileSync(file("cp1", "fail"), "");
    const r = await haprov(["up", "-i", inv, "--playbook", pb]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /\[files\] cp1: failed {2}fail on demand: command failed on cp1 \(exit 1\): failing on purpose/,
    );
    expect(r.stdout).toMatch(/phase after not started: cp1 failed or unreachable/);
    expect(r.stdout).toMatch(/\ncp1 +2 +1 +1 +2\n/); // ok changed failed skipped (the next phase)
    expect(handlerRuns()).toBe(4); // the host failed before its handlers ran

    rmSync(file("cp1", "fail"));
    const again = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    expect(again.code).toBe(0);
    const handlers = events(again.stdout).filter((e) => e.event === "handler");
    expect(handlers.map((e) => `${e.host} ${e.handler} ${e.status}`)).toEqual(["cp1 reload app changed"]);
    expect(handlerRuns()).toBe(5);
  });

  it("an unreachable host is reported and the run exits 1", async () => {
    const broken = join(work, "broken.yaml");
    writeFileSync(broken, readFileSync(inv, "utf8").replace("address: 127.0.0.3", "address: 127.0.0.4"));
    appendFileSync(join(work, "known_hosts"), `[127.0.0.4]:${sshd.port} ${sshd.hostPublicKey}\n`);
    const r = await haprov(["up", "-i", broken, "--playbook", pb]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cp3: UNREACHABLE: .*127.0.0.4:\d+.*ECONNREFUSED/);
    expect(r.stdout).toMatch(/phase files not started/);
  });

  it("Ctrl-C lets the running step finish, starts no new one, prints the recap and exits 130", async () => {
    const slow = join(work, "slow.yaml");
    writeFileSync(
      slow,
      `name: slow
phases:
  - name: one
    hosts: [cp1]
    steps:
      - command: { run: "touch ${work}/slow-started; sleep 2; touch ${work}/slow-finished" }
      - command: { run: "touch ${work}/never" }
  - name: two
    hosts: [cp1]
    steps:
      - command: { run: "touch ${work}/never2" }
`,
    );
    const child = spawn(process.execPath, ["bin/haprov.js", "up", "-i", inv, "--playbook", slow, "-v"], {
      env: { ...process.env, HAPROV_TEST_VRRP: VRRP, CI: "true" },
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const code = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Interrupt only once the slow step is really running: a fixed delay raced
    // Node's start and the SSH handshakes on a loaded CI machine.
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(work, "slow-started")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(existsSync(join(work, "slow-started"))).toBe(true);
    child.kill("SIGINT");
    expect(await code).toBe(130);
    outputs.push(stdout);
    expect(existsSync(join(work, "slow-finished"))).toBe(true); // the running step finished
    expect(existsSync(join(work, "never"))).toBe(false);
    expect(existsSync(join(work, "never2"))).toBe(false);
    expect(stdout).toMatch(/skipped command touch .*never: not run: interrupted/);
    expect(stdout).toContain("phase two interrupted");
    expect(stdout).toContain("interrupted: no new steps were started after Ctrl-C");
  });

  it("status reports reachability and OS per host", async () => {
    const r = await haprov(["status", "-i", inv, "--playbook", pb, "--json"]);
    expect(r.code).toBe(0);
    const rows = events(r.stdout);
    expect(rows.map((x) => [x.host, x.reachable])).toEqual([
      ["cp1", true],
      ["cp2", true],
      ["cp3", true],
    ]);
    expect(rows[0]!.os).toMatch(/Debian/);
  });

  it("a gathered secret is generated once, the same on every host, read back on reruns", () => {
    const shared = ["cp1", "cp2", "cp3"].map((h) => readFileSync(file(h, "shared"), "utf8"));
    expect(shared[0]).toMatch(/^[A-Za-z2-9]{12}$/);
    expect(new Set(shared).size).toBe(1);
    expect(outputs.join("\n")).not.toContain(shared[0]);
  });

  it("no secret from the inventory appeared in any output", () => {
    expect(outputs.length).toBeGreaterThan(10);
    const all = outputs.join("\n");
    expect(all).not.toContain(VRRP);
    expect(all).not.toContain(TOKEN);
    expect(all).toContain("***");
  });
});
