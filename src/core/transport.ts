/**
 * The seam between the engine and hosts. Only src/transport implements it with ssh2; unit tests
 * use the in-memory fake. The engine receives one of these and never imports ssh2.
 */
export interface ExecOptions {
  /** Run through sudo when the login user is not root. Default true: provisioning needs root. */
  sudo?: boolean;
  /** Bytes written to the command's stdin (after the sudo password, which the transport adds). */
  stdin?: string;
  timeoutMs?: number;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ValidateSpec {
  /** Command with `%s` standing for the path of the temporary file, e.g. `haproxy -c -f %s`. */
  command: string;
  /** Treat any stderr output as a failed validation (keepalived -t exits 0 on several mistakes). */
  failOnStderr?: boolean;
}

export interface WriteFileOptions {
  /** Octal string, e.g. "0640". */
  mode: string;
  owner: string;
  group: string;
  validate?: ValidateSpec | undefined;
}

/** A command kept running for as long as the run needs it (the run lock), fed through its stdin. */
export interface HeldCommand {
  /** The first line the command prints, or "" when it ends without printing one. */
  readonly firstLine: Promise<string>;
  /** All it printed so far. */
  output(): string;
  /** Writes to its stdin (e.g. a heartbeat line). */
  write(data: string): void;
  /** Ends its stdin and waits for it to end. */
  close(): Promise<void>;
}

export interface HostConnection {
  readonly host: string;
  /** True when commands run as root without sudo. */
  readonly isRoot: boolean;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Atomic write: temp file in the same directory, fsync, chmod/chown, optional validation of
   * the temp file, rename over the live file. On any failure the live file is untouched and the
   * temp file is removed.
   */
  writeFileAtomic(path: string, content: Buffer, options: WriteFileOptions): Promise<void>;
  /**
   * Starts `command` (as root, like exec) and keeps it running: it lives as long as this
   * connection does, so whatever it holds is released when the run ends or its connection drops.
   */
  hold(command: string): Promise<HeldCommand>;
  close(): Promise<void>;
}

export interface TransportStats {
  handshakes: number;
  execs: number;
  uploads: number;
  /** Channel opens sshd refused and we asked again for (a full session table). */
  channelRetries: number;
}
