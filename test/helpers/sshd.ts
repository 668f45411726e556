import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real OpenSSH sshd on loopback, with its own config, host key and authorized key, started by
 * the test and stopped by it (by PID). Needs root and Debian's openssh-server and sudo (.ci/run
 * installs them). Creates two local test users once: `haprovnopw` (passwordless sudo) and
 * `haprovpw` (sudo asks for SUDO_TEST_PASSWORD).
 */
export const SUDO_TEST_PASSWORD = "Sudo-Test-Pw-41";
export const NOPW_USER = "haprovnopw";
export const PW_USER = "haprovpw";

export interface Sshd {
  dir: string;
  port: number;
  addresses: string[];
  clientKey: string;
  hostPublicKey: string;
  /** known_hosts text trusting this sshd on every address. */
  knownHosts(): string;
  /** Lines sshd logged so far (LogLevel VERBOSE). */
  log(): string;
  acceptedLogins(): number;
  /** PIDs of the per-connection sshd processes (children of the listener). */
  sessionPids(): number[];
  stop(): Promise<void>;
}

export function sshdAvailable(): boolean {
  return existsSync("/usr/sbin/sshd") && process.getuid?.() === 0 && existsSync("/usr/bin/sudo");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function ensureUsers(): void {
  for (const user of [NOPW_USER, PW_USER]) {
    const exists = spawnOk("id", [user]);
    if (!exists) execFileSync("useradd", ["--create-home", "--shell", "/bin/sh", user]);
  }
  execFileSync("chpasswd", {
    input: `${PW_USER}:${SUDO_TEST_PASSWORD}\n${NOPW_USER}:${SUDO_TEST_PASSWORD}\n`,
  });
  const sudoers = `${NOPW_USER} ALL=(ALL) NOPASSWD:ALL\n${PW_USER} ALL=(ALL) ALL\n`;
  writeFileSync("/etc/sudoers.d/haprov-test", sudoers, { mode: 0o440 });
}

function spawnOk(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function startSshd(opts: { addresses?: string[] } = {}): Promise<Sshd> {
  ensureUsers();
  const addresses = opts.addresses ?? ["127.0.0.1"];
  const dir = mkdtempSync(join(tmpdir(), "haprov-sshd-"));
  chmodSync(dir, 0o755);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")), { mode: 0o644 });
  const config = [
    `Port ${port}`,
    ...addresses.map((a) => `ListenAddress ${a}`),
    `HostKey ${join(dir, "host_key")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "StrictModes no",
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "Subsystem sftp internal-sftp",
    "MaxSessions 10",
    "MaxStartups 10:30:100",
    "LogLevel VERBOSE",
  ].join("\n");
  writeFileSync(join(dir, "sshd_config"), `${config}\n`);
  let logText = "";
  const child: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.on("data", (d: Buffer) => (logText += d.toString()));
  await waitForPort(addresses[0]!, port, () => logText);
  const hostPublicKey = readFileSync(join(dir, "host_key.pub"), "utf8")
    .trim()
    .split(" ")
    .slice(0, 2)
    .join(" ");
  return {
    dir,
    port,
    addresses,
    clientKey: join(dir, "client_key"),
    hostPublicKey,
    knownHosts: () => addresses.map((a) => `[${a}]:${port} ${hostPublicKey}`).join("\n") + "\n",
    log: () => logText,
    acceptedLogins: () => (logText.match(/Accepted (publickey|password) for/g) ?? []).length,
    sessionPids: () => {
      try {
        return execFileSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" })
          .trim()
          .split("\n")
          .filter(Boolean)
          .map(Number);
      } catch {
        return [];
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(host: string, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not start on ${host}:${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
