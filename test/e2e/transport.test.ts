import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { NodeSSH } from "node-ssh";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthFailedError,
  CommandError,
  HostKeyMismatchError,
  UnknownHostKeyError,
} from "../../src/core/errors.js";
import type { HostSpec } from "../../src/core/host.js";
import { Secret } from "../../src/core/secret.js";
import { SshPool, type PoolOptions } from "../../src/transport/ssh-pool.js";
import {
  NOPW_USER,
  PW_USER,
  SUDO_TEST_PASSWORD,
  startSshd,
  sshdAvailable,
  type Sshd,
} from "../helpers/sshd.js";

// Real OpenSSH sshd on loopback (no Docker). .ci/run installs openssh-server and sudo.
describe.runIf(sshdAvailable())("SSH transport against a real sshd", () => {
  let sshd: Sshd;
  let work: string;
  let knownHosts: string;
  beforeAll(async () => {
    sshd = await startSshd();
    work = mkdtempSync(join(tmpdir(), "haprov-transport-"));
    knownHosts = join(work, "known_hosts");
    writeFileSync(knownHosts, sshd.knownHosts());
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const host = (user = "root", name = "h1"): HostSpec => ({
    name,
    address: "127.0.0.1",
    roles: ["control-plane"],
    interface: "eth0",
    priority: undefined,
    vars: {},
    ssh: { user, port: sshd.port, identityFile: sshd.clientKey, hostname: "127.0.0.1", jump: undefined },
  });
  const pool = (o: Partial<PoolOptions> = {}) =>
    new SshPool({ knownHostsPath: knownHosts, acceptNewHostKeys: false, useAgent: false, ...o });

  it("exec returns exit code, stdout and stderr, and enforces a timeout", async () => {
    const c = await pool().connect(host());
    expect(await c.exec("echo out; echo err >&2; exit 3")).toMatchObject({
      code: 3,
      stdout: "out\n",
      stderr: "err\n",
    });
    const slow = await c.exec("sleep 5", { timeoutMs: 300 });
    expect(slow.code).toBeNull();
    expect(slow.stderr).toMatch(/timed out/);
    expect(slow.durationMs).toBeLessThan(3000);
    await c.close();
  });

  it("reuses one connection for many commands, more in parallel than sshd's MaxSessions", async () => {
    const before = sshd.acceptedLogins();
    const p = pool();
    const c = await p.connect(host());
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => c.exec(`echo ${i}`)));
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
    expect(p.stats.handshakes).toBe(1);
    await c.close();
    expect(sshd.acceptedLogins() - before).toBe(1); // sshd's own count
  });

  it("caps concurrent handshakes so sshd's MaxStartups never drops a connection", async () => {
    const before = sshd.acceptedLogins();
    const p = pool({ maxHandshakes: 6 });
    const conns = await Promise.all(Array.from({ length: 24 }, (_, i) => p.connect(host("root", `h${i}`))));
    expect(p.stats.handshakes).toBe(24);
    await Promise.all(conns.map((c) => c.close()));
    expect(sshd.acceptedLogins() - before).toBe(24);
  });

  it("runs as root through sudo -n for a user with passwordless sudo", async () => {
    const c = await pool().connect(host(NOPW_USER));
    expect(c.isRoot).toBe(false);
    expect((await c.exec("id -u")).stdout.trim()).toBe("0");
    expect((await c.exec("id -un", { sudo: false })).stdout.trim()).toBe(NOPW_USER);
    await c.close();
  });

  it("a sudo password travels on stdin only: never in argv or the environment", async () => {
    const c = await pool({ sudoPassword: new Secret(SUDO_TEST_PASSWORD) }).connect(host(PW_USER));
    expect((await c.exec("id -u")).stdout.trim()).toBe("0");
    // While sudo runs, every process's argv and environment are visible to root.
    const seen = await c.exec("ps -eo args; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; env");
    expect(seen.code).toBe(0);
    expect(seen.stdout).toContain("ps -eo args");
    expect(seen.stdout).not.toContain(SUDO_TEST_PASSWORD);
    // and a command reading stdin does not receive the password
    expect((await c.exec("cat", { stdin: "payload" })).stdout).toBe("payload");
    await c.close();
  });

  it("refuses a user whose sudo needs a password when none was given", async () => {
    await expect(pool().connect(host(PW_USER))).rejects.toThrow(AuthFailedError);
    await expect(pool().connect(host(PW_USER))).rejects.toThrow(/needs a password for sudo/);
  });

  it("atomic upload: a second SSH client reading the file all along sees the old or the new bytes, never a mix", async () => {
    // node-ssh (promises over ssh2) as an independent reader on its own connection.
    const reader = new NodeSSH();
    await reader.connect({
      host: "127.0.0.1",
      port: sshd.port,
      username: "root",
      privateKeyPath: sshd.clientKey,
      hostVerifier: (key: Buffer) => sshd.knownHosts().includes(key.toString("base64")),
    });
    const dir = mkdtempSync(join(tmpdir(), "haprov-atomic-"));
    const live = join(dir, "big.cfg");
    const oldBody = "o".repeat(2 * 1024 * 1024);
    const newBody = "n".repeat(2 * 1024 * 1024);
    writeFileSync(live, oldBody);
    const sums = new Set([oldBody, newBody].map((b) => createHash("sha256").update(b).digest("hex")));
    const seen: string[] = [];
    let writing = true;
    const readLoop = (async () => {
      while (writing) {
        const r = await reader.execCommand(`sha256sum < ${live} | cut -c1-64`);
        seen.push(r.stdout.trim());
      }
    })();
    const c = await pool().connect(host());
    for (let i = 0; i < 3; i++)
      await c.writeFileAtomic(live, Buffer.from(i % 2 ? oldBody : newBody), {
        mode: "0644",
        owner: "root",
        group: "root",
      });
    writing = false;
    await readLoop;
    await c.close();
    reader.dispose();
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.filter((h) => !sums.has(h))).toEqual([]);
  });

  it("atomic upload: content, mode and owner; a failed validation leaves the live file; no temp file remains", async () => {
    for (const user of ["root", NOPW_USER]) {
      const c = await pool().connect(host(user));
      const dir = mkdtempSync(join(tmpdir(), "haprov-up-"));
      const live = join(dir, "app.cfg");
      writeFileSync(live, "old\n");
      await c.writeFileAtomic(live, Buffer.from("new\n"), {
        mode: "0640",
        owner: "root",
        group: "root",
        validate: { command: "grep -q new %s" },
      });
      expect(readFileSync(live, "utf8")).toBe("new\n");
      expect(execFileSync("stat", ["-c", "%a %U %G", live], { encoding: "utf8" }).trim()).toBe(
        "640 root root",
      );
      const bad = c.writeFileAtomic(live, Buffer.from("broken\n"), {
        mode: "0640",
        owner: "root",
        group: "root",
        validate: { command: "grep -q new %s" },
      });
      await expect(bad).rejects.toThrow(CommandError);
      await expect(bad).rejects.toThrow(/validation of .*app.cfg failed/);
      expect(readFileSync(live, "utf8")).toBe("new\n");
      expect(execFileSync("ls", ["-A", dir], { encoding: "utf8" }).trim()).toBe("app.cfg");
      expect(
        execFileSync("sh", ["-c", "ls -A /tmp | grep -c haprov-upload || true"], { encoding: "utf8" }).trim(),
      ).toBe("0");
      await c.close();
    }
  });

  it("a connection dropped mid-upload leaves the old file intact", async () => {
    const c = await pool().connect(host());
    const dir = mkdtempSync(join(tmpdir(), "haprov-drop-"));
    const live = join(dir, "big.bin");
    writeFileSync(live, "original\n");
    const upload = c.writeFileAtomic(live, Buffer.alloc(64 * 1024 * 1024, 7), {
      mode: "0644",
      owner: "root",
      group: "root",
    });
    await new Promise((r) => setTimeout(r, 150));
    for (const pid of sshd.sessionPids()) process.kill(pid, "SIGKILL"); // sshd children we started
    await expect(upload).rejects.toThrow();
    expect(readFileSync(live, "utf8")).toBe("original\n");
  });

  it("strict host-key checking: unknown and mismatched keys are refused with a clear error", async () => {
    const unknown = join(work, "empty_known_hosts");
    writeFileSync(unknown, "");
    await expect(pool({ knownHostsPath: unknown }).connect(host())).rejects.toThrow(UnknownHostKeyError);
    const wrong = join(work, "wrong_known_hosts");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "other")]);
    const other = readFileSync(join(work, "other.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${other}\n`);
    const err = await pool({ knownHostsPath: wrong })
      .connect(host())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect((err as Error).message).toMatch(
      /HOST KEY MISMATCH for \[127.0.0.1\]:\d+: the server offered SHA256:/,
    );
    // --accept-new-host-keys does not override a mismatch
    await expect(pool({ knownHostsPath: wrong, acceptNewHostKeys: true }).connect(host())).rejects.toThrow(
      HostKeyMismatchError,
    );
  });

  it("--accept-new-host-keys records the key, and later strict runs accept it; hashed entries work", async () => {
    const file = join(work, "tofu_known_hosts");
    const c = await pool({ knownHostsPath: file, acceptNewHostKeys: true }).connect(host());
    await c.close();
    expect(readFileSync(file, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    await (await pool({ knownHostsPath: file }).connect(host())).close();
    const hashed = join(work, "hashed_known_hosts");
    writeFileSync(hashed, readFileSync(file));
    execFileSync("ssh-keygen", ["-H", "-f", hashed], { stdio: "ignore" });
    expect(readFileSync(hashed, "utf8")).toMatch(/^\|1\|/);
    await (await pool({ knownHostsPath: hashed }).connect(host())).close();
  });

  it("password authentication (ssh.password) works when no key is offered", async () => {
    const h = host(PW_USER);
    h.ssh.identityFile = undefined;
    const c = await pool({
      password: new Secret(SUDO_TEST_PASSWORD),
      sudoPassword: new Secret(SUDO_TEST_PASSWORD),
    }).connect(h);
    expect((await c.exec("id -un", { sudo: false })).stdout.trim()).toBe(PW_USER);
    await c.close();
    expect(sshd.log()).toMatch(new RegExp(`Accepted password for ${PW_USER}`));
  });

  it("authentication failure is reported as such, without retrying", async () => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "stranger")]);
    const h = host();
    h.ssh.identityFile = join(work, "stranger");
    const t0 = Date.now();
    await expect(pool().connect(h)).rejects.toThrow(AuthFailedError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
