import { spawn } from "node:child_process";
import { resolve } from "node:path";

const BIN = resolve("bin/haprov.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (CI=true: plain output, never a prompt). */
export function haprov(
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? process.cwd(),
      env: { ...process.env, CI: "true", ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** The `summary` event of a --json run. */
export function jsonSummary(stdout: string): {
  hosts: Record<
    string,
    { ok: number; changed: number; failed: number; skipped: number; unreachable: boolean }
  >;
} {
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; summary?: unknown });
  return lines.find((e) => e.event === "summary")!.summary as ReturnType<typeof jsonSummary>;
}
