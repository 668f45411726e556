import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { connect as netConnect, type Socket } from "node:net";
import { homedir } from "node:os";
import pLimit from "p-limit";
import ssh2, { type Client as ClientType, type ConnectConfig } from "ssh2";
import {
  AuthFailedError,
  HaprovError,
  HostKeyMismatchError,
  UnknownHostKeyError,
  UnreachableError,
} from "../core/errors.js";
import type { HostSpec, JumpHost } from "../core/host.js";
import type { Secret } from "../core/secret.js";
import type { TransportStats } from "../core/transport.js";
import {
  knownKeyTypes,
  KnownHostsFile,
  lookupName,
  verifyHostKey,
  type HostKeyVerdict,
} from "./known-hosts.js";
import { SshConnection, type SudoMode } from "./ssh-connection.js";
import { expandHome } from "./ssh-config.js";

// Under Node ESM the named export `utils` is undefined; the default import works (LAB-NOTES.md).
const { Client } = ssh2;

export interface PoolOptions {
  knownHostsPath: string;
  acceptNewHostKeys: boolean;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
  /** Simultaneous handshakes; sshd's MaxStartups 10:30:100 starts dropping at 10. */
  maxHandshakes?: number;
  connectAttempts?: number;
  password?: Secret;
  sudoPassword?: Secret;
  useAgent?: boolean;
}

interface Endpoint {
  address: string;
  port: number;
  user: string;
  identityFile: string | undefined;
  knownName: string;
}

/** sshd dropping a handshake (MaxStartups) or not listening yet: worth a few quick retries. */
const RETRY_FAST = /ECONNREFUSED|ECONNRESET|EPIPE|Connection lost before handshake/i;
/** No answer at all: one more try, or an unreachable host would cost 4 × the connect timeout. */
const RETRY_ONCE =
  /ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|Timed out while waiting for handshake|connect timeout|Keepalive timeout/i;
/** A LAN handshake takes milliseconds; an unreachable host should not hold a run for long. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"].map((k) => `${homedir()}/.ssh/${k}`);
const HOSTKEY_ALGOS: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};
const ALL_HOSTKEY_ALGOS = Object.values(HOSTKEY_ALGOS).flat();

/**
 * Opens one connection per host for the whole run: strict host-key checking, bounded concurrent
 * handshakes, retry with backoff on connect only, Nagle off (~48 ms → ~6 ms per command here).
 */
export class SshPool {
  readonly stats: TransportStats = { handshakes: 0, execs: 0, uploads: 0, channelRetries: 0 };
  private readonly handshakes: ReturnType<typeof pLimit>;
  private readonly knownHosts: KnownHostsFile;
  private readonly jumps = new Map<string, Promise<ClientType>>();

  constructor(private readonly o: PoolOptions) {
    this.handshakes = pLimit(o.maxHandshakes ?? 8);
    this.knownHosts = new KnownHostsFile(expandHome(o.knownHostsPath));
  }

  async connect(host: HostSpec): Promise<SshConnection> {
    const ep: Endpoint = {
      address: host.ssh.hostname,
      port: host.ssh.port,
      user: host.ssh.user,
      identityFile: host.ssh.identityFile,
      knownName: lookupName(host.ssh.hostname, host.ssh.port),
    };
    const jump = host.ssh.jump;
    const client = await this.withRetry(host.name, () =>
      this.handshakes(() => this.handshake(host.name, ep, jump)),
    );
    const sudo = await this.sudoMode(host.name, client, ep.user);
    return new SshConnection(host.name, client, sudo, this.o.sudoPassword, this.stats);
  }

  private async withRetry(name: string, attempt: () => Promise<ClientType>): Promise<ClientType> {
    const attempts = this.o.connectAttempts ?? 4;
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (e) {
        const why =
          e instanceof UnreachableError ? String((e.cause as Error | undefined)?.message ?? e.message) : "";
        const limit = RETRY_FAST.test(why) ? attempts : RETRY_ONCE.test(why) ? Math.min(2, attempts) : 1;
        if (i >= limit) throw e;
        await new Promise((r) => setTimeout(r, 250 * 2 ** (i - 1) + Math.random() * 100));
      }
    }
  }

  private async socketTo(ep: Endpoint, jump: JumpHost | undefined): Promise<Socket | NodeJS.ReadableStream> {
    if (jump) {
      const via = await this.jumpClient(jump);
      return new Promise((resolve, reject) => {
        via.forwardOut("127.0.0.1", 0, ep.address, ep.port, (err, stream) =>
          err ? reject(err) : resolve(stream),
        );
      });
    }
    const timeout = this.o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const sock = netConnect({ host: ep.address, port: ep.port });
      sock.setNoDelay(true);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect timeout after ${timeout} ms (ETIMEDOUT)`));
      }, timeout);
      sock.once("connect", () => {
        clearTimeout(timer);
        resolve(sock);
      });
      sock.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** One connection per jump host, shared by every host behind it. */
  private jumpClient(j: JumpHost): Promise<ClientType> {
    const key = `${j.user}@${j.address}:${j.port}`;
    let c = this.jumps.get(key);
    if (!c) {
      const ep: Endpoint = {
        address: j.address,
        port: j.port,
        user: j.user,
        identityFile: j.identityFile,
        knownName: lookupName(j.address, j.port),
      };
      c = this.withRetry(`jump host ${j.address}`, () =>
        this.handshakes(() => this.handshake(`jump host ${j.address}`, ep, undefined)),
      );
      this.jumps.set(key, c);
      // A failed jump connection is not kept: the next host (or retry) tries again.
      c.catch(() => this.jumps.delete(key));
    }
    return c;
  }

  private async handshake(name: string, ep: Endpoint, jump: JumpHost | undefined): Promise<ClientType> {
    let sock: Socket | NodeJS.ReadableStream;
    try {
      sock = await this.socketTo(ep, jump);
    } catch (e) {
      throw new UnreachableError(`${name}: cannot reach ${ep.address}:${ep.port}: ${(e as Error).message}`, {
        cause: e,
        hint: "check the address, the port and that sshd runs",
      });
    }
    const entries = await this.knownHosts.load();
    const known = knownKeyTypes(entries, ep.knownName).flatMap((t) => HOSTKEY_ALGOS[t] ?? []);
    let verdict: HostKeyVerdict | undefined;
    let offered: Buffer | undefined;
    const client = new Client();
    const config: ConnectConfig = {
      sock: sock as ConnectConfig["sock"],
      username: ep.user,
      readyTimeout: this.o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      keepaliveInterval: this.o.keepaliveMs ?? 15_000,
      keepaliveCountMax: 3,
      authHandler: await this.authMethods(ep),
      algorithms: {
        serverHostKey: [...known, ...ALL_HOSTKEY_ALGOS.filter((a) => !known.includes(a))] as never,
      },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        offered = key;
        verdict = verifyHostKey(entries, ep.knownName, key);
        if (verdict.kind === "unknown" && this.o.acceptNewHostKeys) {
          this.knownHosts.add(ep.knownName, key).then(
            () => verify(true),
            () => verify(false),
          );
          return;
        }
        verify(verdict.kind === "match");
      },
    };
    return new Promise((resolve, reject) => {
      client.once("ready", () => {
        this.stats.handshakes += 1;
        resolve(client);
      });
      client.once("error", (err: Error & { level?: string }) => {
        client.end();
        reject(this.mapError(name, ep, err, verdict, offered));
      });
      client.connect(config);
    });
  }

  private mapError(
    name: string,
    ep: Endpoint,
    err: Error & { level?: string },
    verdict: HostKeyVerdict | undefined,
    key: Buffer | undefined,
  ): Error {
    if (verdict && verdict.kind !== "match" && !(verdict.kind === "unknown" && this.o.acceptNewHostKeys)) {
      const fp = key ? fingerprint(key) : "?";
      if (verdict.kind === "unknown") {
        return new UnknownHostKeyError(
          `${name}: host key for ${ep.knownName} is not in ${this.knownHosts.path} (offered ${fp})`,
          {
            hint: "verify the fingerprint, then add it with ssh-keyscan, or rerun with --accept-new-host-keys to trust it on first use",
          },
        );
      }
      if (verdict.kind === "revoked")
        return new HostKeyMismatchError(
          `${name}: host key ${fp} for ${ep.knownName} is marked @revoked in ${this.knownHosts.path}`,
        );
      return new HostKeyMismatchError(
        `${name}: HOST KEY MISMATCH for ${ep.knownName}: the server offered ${fp}, which differs from the key recorded in ${this.knownHosts.path}`,
        {
          hint: "this can mean a man-in-the-middle attack, or the host was reinstalled; if you are sure, remove the old entry (ssh-keygen -R) and retry",
        },
      );
    }
    if (err.level === "client-authentication" || /authentication methods failed/i.test(err.message)) {
      return new AuthFailedError(`${name}: authentication failed for ${ep.user}@${ep.address}:${ep.port}`, {
        cause: err,
        hint: "check ssh.user, ssh.identityFile (or the agent) and that the key is in authorized_keys",
      });
    }
    return new UnreachableError(`${name}: SSH to ${ep.address}:${ep.port} failed: ${err.message}`, {
      cause: err,
    });
  }

  private async authMethods(ep: Endpoint): Promise<NonNullable<ConnectConfig["authHandler"]>> {
    const methods: Record<string, unknown>[] = [];
    const files = ep.identityFile ? [expandHome(ep.identityFile)] : DEFAULT_KEYS;
    for (const f of files) {
      const key = await readFile(f).catch((e: NodeJS.ErrnoException) => {
        if (ep.identityFile) throw new HaprovError(`cannot read identity file ${f}: ${e.code ?? e.message}`);
        return undefined;
      });
      if (key) methods.push({ type: "publickey", username: ep.user, key });
    }
    if ((this.o.useAgent ?? true) && process.env.SSH_AUTH_SOCK) {
      methods.push({
        type: "agent",
        username: ep.user,
        agent: process.env.SSH_AUTH_SOCK,
      });
    }
    if (this.o.password)
      methods.push({
        type: "password",
        username: ep.user,
        password: this.o.password.reveal(),
      });
    return methods as never;
  }

  /** Root needs no sudo; others must have passwordless sudo or a sudo password for this run. */
  private async sudoMode(name: string, client: ClientType, user: string): Promise<SudoMode> {
    if (user === "root") return "root";
    const probe = await new Promise<number | null>((resolve) => {
      client.exec("sudo -n true", (err, stream) => {
        if (err) return resolve(null);
        let code: number | null = null;
        stream.on("exit", (c: number | null) => (code = c));
        stream.on("close", () => resolve(code));
        stream.resume();
        stream.stderr.resume();
      });
    });
    if (probe === 0) return "nopasswd";
    if (this.o.sudoPassword) return "password";
    client.end();
    throw new AuthFailedError(`${name}: user ${user} needs a password for sudo`, {
      hint: "set ssh.sudoPasswordEnv in the inventory (and export that variable) or pass --ask-sudo-pass",
    });
  }

  async close(): Promise<void> {
    for (const c of this.jumps.values()) (await c.catch(() => undefined))?.end();
  }
}

/** OpenSSH-style fingerprint, as `ssh-keygen -lf` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}
