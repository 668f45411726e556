import { expect } from "vitest";
import type { CliResult } from "./haprov-cli.js";

/**
 * `validate --json` refused the input (exit 3, in under a second, nothing on stderr) with an error
 * event naming `path`, its message matching, located at file:line:col (col "any": not checked).
 */
export function expectLocatedRefusal(
  res: { r: CliResult; ms: number; file: string; line: number; col: number | "any" },
  path: string,
  message: RegExp,
): void {
  const { r, ms, file, line, col } = res;
  expect(r.code, r.stdout + r.stderr).toBe(3);
  expect(ms).toBeLessThan(1000);
  const events = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const hit = events.find((e) => e.event === "error" && e.path === path && message.test(String(e.message)));
  expect(hit, JSON.stringify(events, null, 1)).toBeDefined();
  expect([hit!.file, hit!.line, col === "any" ? "any" : hit!.column]).toEqual([file, line, col]);
  expect(r.stderr).toBe("");
}
