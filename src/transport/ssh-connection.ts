import { randomBytes } from "node:crypto";
import { basename, dirname } from "node:path";
import pLimit from "p-limit";
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { CommandError, HaprovError } from "../core/errors.js";
import { command, quote } from "../core/quote.js";
import type { Secret } from "../core/secret.js";
import type {
  ExecOptions,
  ExecResult,
  HeldCommand,
  HostConnection,
  TransportStats,
  ValidateSpec,
  WriteFileOptions,
} from "../core/transport.js";

/** sshd's MaxSessions is 10: at most 9 exec channels plus the one SFTP channel. */
const MAX_EXEC_CHANNELS = 9;
const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;
/**
 * Backoff before re-asking for a channel sshd refused. sshd frees a session only once its
 * child is reaped, a little after the channel's close reached us, so under a full queue (27
 * join tokens made on one node at 30 hosts) an open can be refused although our count is
 * under MaxSessions. About 6 s in all, then the refusal is the answer.
 */
const CHANNEL_RETRY_MS = [50, 100, 200, 400, 800, 1600, 3200];

export type SudoMode = "root" | "nopasswd" | "password";

/** One SSH connection to one host, reused by every step of the run. */
export class SshConnection implements HostConnection {
  private readonly channels = pLimit(MAX_EXEC_CHANNELS);
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private closed = false;
  /** Rejects when the connection drops: pending SFTP calls would otherwise never settle. */
  private readonly lost: Promise<never>;

  constructor(
    readonly host: string,
    private readonly client: Client,
    private readonly sudo: SudoMode,
    private readonly sudoPassword: Secret | undefined,
    private readonly stats: TransportStats,
  ) {
    this.lost = new Promise<never>((_, reject) => {
      client.on("close", () => {
        this.closed = true;
        reject(new HaprovError(`connection to ${host} lost`));
      });
    });
    this.lost.catch(() => undefined);
    // Errors after the handshake (a reset, a killed host) end in "close", which settles everything
    // pending; without a listener a second "error" event would crash the whole run.
    client.on("error", () => undefined);
  }

  get isRoot(): boolean {
    return this.sudo === "root";
  }

  exec(cmd: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { wrapped, stdin } = this.asRoot(cmd, options.sudo !== false, options.stdin);
    return this.channels(() => this.run(wrapped, stdin, options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS));
  }

  /** The command as root (through sudo unless the login is root), and what its stdin starts with. */
  private asRoot(
    cmd: string,
    sudo: boolean,
    stdin: string | undefined,
  ): { wrapped: string; stdin: string | undefined } {
    const useSudo = sudo && this.sudo !== "root";
    if (useSudo && this.sudo === "nopasswd") return { wrapped: `sudo -n -- sh -c ${quote(cmd)}`, stdin };
    if (useSudo && this.sudo === "password")
      // -k: always prompt, so the password line is always consumed by sudo and never reaches
      // the command's stdin. The password travels on stdin only: never argv, never environment.
      return {
        wrapped: `sudo -k -S -p '' -- sh -c ${quote(cmd)}`,
        stdin: `${this.sudoPassword?.reveal() ?? ""}\n${stdin ?? ""}`,
      };
    return { wrapped: cmd, stdin };
  }

  /** A long-running command on its own channel (one of the connection's exec channels). */
  hold(cmd: string): Promise<HeldCommand> {
    const { wrapped, stdin } = this.asRoot(cmd, true, undefined);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new HaprovError(`connection to ${this.host} closed`));
      // the channel is taken from the limiter for as long as the command runs
      void this.channels(
        () =>
          new Promise<void>((released) => {
            this.stats.execs += 1;
            this.openExec(wrapped, (err, stream) => {
              if (err) {
                released();
                return reject(new HaprovError(`cannot open a channel on ${this.host}: ${err.message}`));
              }
              let out = "";
              let firstLine: (l: string) => void = () => undefined;
              const first = new Promise<string>((r) => (firstLine = r));
              const ended = new Promise<void>((r) =>
                stream.on("close", () => {
                  firstLine(out.split("\n")[0] ?? "");
                  released();
                  r();
                }),
              );
              stream.on("data", (d: Buffer) => {
                out += d.toString();
                if (out.includes("\n")) firstLine(out.split("\n")[0]!);
              });
              stream.stderr.on("data", () => undefined);
              if (stdin !== undefined) stream.write(stdin);
              resolve({
                firstLine: first,
                output: () => out,
                write: (data) => void (stream.writable && stream.write(data)),
                close: async () => {
                  stream.end();
                  // The grace timer must not outlive the command: a pending 5 s timer kept every
                  // run's process alive for 5 s after its recap (measured in bench/fleet.ts).
                  let timer: NodeJS.Timeout | undefined;
                  await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, 5000)))]);
                  clearTimeout(timer);
                },
              });
            });
          }),
      );
    });
  }

  private run(cmd: string, stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    const t0 = performance.now();
    this.stats.execs += 1;
    return new Promise((resolve) => {
      const done = (code: number | null, stdout: string, stderr: string) =>
        resolve({
          code,
          stdout,
          stderr,
          durationMs: Math.round(performance.now() - t0),
        });
      if (this.closed) return done(null, "", "connection closed");
      this.openExec(cmd, (err, stream) => {
        if (err) return done(null, "", `cannot open channel: ${err.message}`);
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | null = null;
        let settled = false;
        const finish = (c: number | null, stderr: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          done(c, Buffer.concat(out).toString(), stderr);
        };
        // On timeout: answer now (the channel's close would wait for the remote process), and
        // ask sshd to kill it and close the channel.
        const timer = setTimeout(() => {
          stream.signal("KILL");
          stream.close();
          finish(null, `${Buffer.concat(errOut).toString()}\ntimed out after ${timeoutMs / 1000}s`);
        }, timeoutMs);
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => errOut.push(d));
        stream.on("exit", (c: number | null) => {
          code = c;
        });
        stream.on("close", () => {
          const stderr = Buffer.concat(errOut).toString();
          finish(code, code === null && this.closed ? `${stderr}\nconnection lost` : stderr);
        });
        if (stdin !== undefined) stream.end(stdin);
        else stream.end();
      });
    });
  }

  /** client.exec, re-asked with backoff while sshd refuses the channel (see CHANNEL_RETRY_MS). */
  private openExec(
    cmd: string,
    cb: (err: Error | undefined, stream: ClientChannel) => void,
    attempt = 0,
  ): void {
    this.client.exec(cmd, (err, stream: ClientChannel) => {
      const delay = CHANNEL_RETRY_MS[attempt];
      if (err && delay !== undefined && !this.closed && /Channel open failure/.test(err.message)) {
        this.stats.channelRetries += 1;
        setTimeout(() => this.openExec(cmd, cb, attempt + 1), delay);
        return;
      }
      cb(err, stream);
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
    });
    return this.sftpSession;
  }

  async writeFileAtomic(path: string, content: Buffer, o: WriteFileOptions): Promise<void> {
    this.stats.uploads += 1;
    const suffix = randomBytes(6).toString("hex");
    const tmp = `${dirname(path)}/.${basename(path)}.haprov-${suffix}`;
    // Root writes the temp file next to the target directly; a sudo user cannot, so the bytes go to
    // a private staging file first and root copies them next to the target.
    const staging = this.sudo === "root" ? tmp : `/tmp/.haprov-upload-${suffix}`;
    try {
      await this.sftpWrite(staging, content);
    } catch (e) {
      await this.exec(command("rm", "-f", staging), { sudo: false }).catch(() => undefined);
      throw new HaprovError(`upload of ${path} to ${this.host} failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const script = finalizeScript({ staging, tmp, path, ...o });
    const res = await this.exec(script);
    if (res.code !== 0) {
      const what = res.code === VALIDATION_FAILED ? `validation of ${path}` : `install of ${path}`;
      throw new CommandError(
        this.host,
        o.validate?.command.replaceAll("%s", tmp) ?? `install ${path}`,
        res.code,
        res.stdout,
        res.stderr,
        { what },
      );
    }
  }

  private async sftpWrite(remote: string, content: Buffer): Promise<void> {
    const sftp = await this.sftp();
    const call = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void) =>
      Promise.race([
        new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v)))),
        this.lost,
      ]);
    const handle = await call<Buffer>((cb) => sftp.open(remote, "w", { mode: 0o600 }, cb));
    try {
      let offset = 0;
      while (offset < content.length) {
        const len = Math.min(32 * 1024, content.length - offset);
        await call<void>((cb) =>
          sftp.write(handle, content, offset, len, offset, (err) => cb(err, undefined)),
        );
        offset += len;
      }
      await call<void>((cb) => sftp.ext_openssh_fsync(handle, (err) => cb(err, undefined)));
    } finally {
      await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.client.once("close", () => resolve());
      this.client.end();
      setTimeout(resolve, 1000).unref();
    });
  }
}

const VALIDATION_FAILED = 97;

/**
 * Runs as root on the host: place the temp file next to the target, fsync it, set mode and owner,
 * validate it, rename it over the live file. Any failure removes the temp file and leaves the live
 * file as it was.
 */
export function finalizeScript(p: WriteFileOptions & { staging: string; tmp: string; path: string }): string {
  const t = quote(p.tmp);
  const lines = [
    `t=${t}`,
    `fail() { rm -f "$t" ${p.staging !== p.tmp ? quote(p.staging) : ""}; exit "$1"; }`,
  ];
  if (p.staging !== p.tmp) lines.push(`cp ${quote(p.staging)} "$t" && rm -f ${quote(p.staging)} || fail 1`);
  lines.push(
    `sync "$t" 2>/dev/null; chown ${quote(`${p.owner}:${p.group}`)} "$t" && chmod ${quote(p.mode)} "$t" || fail 1`,
  );
  if (p.validate) lines.push(validateSnippet(p.validate));
  lines.push(`mv -f "$t" ${quote(p.path)} || fail 1`);
  return lines.join("\n");
}

function validateSnippet(v: ValidateSpec): string {
  const cmd = v.command.replaceAll("%s", '"$t"');
  if (v.failOnStderr) {
    // keepalived -t exits 0 on a missing file and only warns on many mistakes (REFERENCE.md §0.4).
    return `e=$( { ${cmd} ; } 2>&1 >/dev/null ); rc=$?; if [ $rc -ne 0 ] || [ -n "$e" ]; then printf 'validation failed (exit %s): %s\\n' "$rc" "$e" >&2; fail ${VALIDATION_FAILED}; fi`;
  }
  return `o=$( { ${cmd} ; } 2>&1 ); rc=$?; if [ $rc -ne 0 ]; then printf 'validation failed (exit %s): %s\\n' "$rc" "$o" >&2; fail ${VALIDATION_FAILED}; fi`;
}
