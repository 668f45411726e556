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
  failures: { host: string; phase: string; step: string; message: string }[];
} {
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; summary?: unknown });
  return lines.find((e) => e.event === "summary")!.summary as ReturnType<typeof jsonSummary>;
}

/** One event of a --json run (the fields the end-to-end tests look at). */
export type JsonEvent = {
  event: string;
  host?: string;
  phase?: string;
  step?: string;
  handler?: string;
  status?: string;
  message?: string;
  /** `status --json`'s cluster line. */
  problems?: string[];
};

/** Every event line of a --json run. */
export const jsonEvents = (stdout: string): JsonEvent[] =>
  stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as JsonEvent);

/** "host phase: step" for every step or handler that changed (or would change, in plan), sorted. */
export const changedSteps = (stdout: string): string[] =>
  jsonEvents(stdout)
    .filter((e) => (e.event === "step" || e.event === "handler") && e.status === "changed")
    .map((e) => `${e.host} ${e.phase}: ${e.step ?? `handler ${e.handler}`}`)
    .sort();
