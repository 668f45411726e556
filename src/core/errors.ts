/**
 * Domain errors. Each has a short `message` for lists and progress views and a `detail()` for -v,
 * in the manner of execa's final-error. Secrets are masked by the Redactor where errors are printed.
 */
export class HaprovError extends Error {
  override readonly name: string = "HaprovError";
  /** What the operator can do about it, shown under the message. */
  readonly hint: string | undefined;
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
  }
  detail(): string {
    const lines = [this.message];
    if (this.hint) lines.push(`hint: ${this.hint}`);
    if (this.cause instanceof Error) lines.push(`cause: ${this.cause.message}`);
    return lines.join("\n");
  }
}

export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

export interface InputIssue {
  location: SourceLocation | undefined;
  /** Field path in dotted/bracket form, e.g. `hosts[1].address`. */
  path: string;
  message: string;
  severity: "error" | "warning";
}

export function formatIssue(issue: InputIssue): string {
  const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.col}: ` : "";
  const label = issue.severity === "warning" ? "warning" : "error";
  return `${where}${label}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

/** Invalid inventory, playbook or flags. Raised before any host is contacted (exit 3). */
export class InputError extends HaprovError {
  override readonly name = "InputError";
  readonly issues: InputIssue[];
  constructor(issues: InputIssue[], summary?: string) {
    const errors = issues.filter((i) => i.severity === "error");
    super(summary ?? `${errors.length} error(s) in input:\n${errors.map(formatIssue).join("\n")}`);
    this.issues = issues;
  }
}

const TAIL = 800;
function tail(s: string): string {
  return s.length > TAIL ? `…${s.slice(-TAIL)}` : s;
}

export class CommandError extends HaprovError {
  override readonly name = "CommandError";
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    options: { cause?: unknown; what?: string } = {},
  ) {
    const firstErr = stderr.trim().split("\n").pop() ?? "";
    super(
      `${options.what ?? "command"} failed on ${host} (exit ${exitCode ?? "signal"})${firstErr ? `: ${firstErr}` : ""}`,
      { cause: options.cause },
    );
  }
  override detail(): string {
    return [
      this.message,
      `command: ${this.command}`,
      `exit code: ${this.exitCode ?? "none (killed or timed out)"}`,
      this.stdout.trim() ? `stdout:\n${tail(this.stdout.trim())}` : "stdout: (empty)",
      this.stderr.trim() ? `stderr:\n${tail(this.stderr.trim())}` : "stderr: (empty)",
    ].join("\n");
  }
}

export class UnreachableError extends HaprovError {
  override readonly name = "UnreachableError";
}
export class AuthFailedError extends HaprovError {
  override readonly name = "AuthFailedError";
}
export class HostKeyMismatchError extends HaprovError {
  override readonly name = "HostKeyMismatchError";
}
export class UnknownHostKeyError extends HaprovError {
  override readonly name = "UnknownHostKeyError";
}
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
export function errorDetail(e: unknown): string {
  if (e instanceof HaprovError) return e.detail();
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}
