import { Chalk } from "chalk";
import type { RunSummary } from "../../core/events.js";

/** The closing table: ok/changed/failed/skipped per host, failures, phases not started, wall time. */
export function formatRecap(s: RunSummary, color: boolean): string {
  const c = new Chalk(color ? {} : { level: 0 });
  const names = Object.keys(s.hosts);
  const width = Math.max(4, ...names.map((n) => n.length));
  const changedLabel = s.dryRun ? "to-change" : "changed";
  const lines = [
    "",
    c.bold(`RECAP${s.dryRun ? " (plan: nothing was changed)" : ""}`),
    `${"host".padEnd(width)}  ${"ok".padStart(4)}  ${changedLabel.padStart(9)}  ${"failed".padStart(6)}  ${"skipped".padStart(7)}`,
  ];
  for (const n of names) {
    const t = s.hosts[n]!;
    const row = `${n.padEnd(width)}  ${String(t.ok).padStart(4)}  ${String(t.changed).padStart(9)}  ${String(t.failed).padStart(6)}  ${String(t.skipped).padStart(7)}${t.unreachable ? "  UNREACHABLE" : ""}`;
    lines.push(t.failed > 0 || t.unreachable ? c.red(row) : t.changed > 0 ? c.yellow(row) : c.green(row));
  }
  for (const f of s.failures) lines.push(c.red(`failed: ${f.host} [${f.phase}] ${f.step}: ${f.message}`));
  for (const p of s.skippedPhases) lines.push(c.yellow(`phase ${p.phase} ${p.reason}`));
  if (s.interrupted) lines.push(c.yellow("interrupted: no new steps were started after Ctrl-C"));
  lines.push(`wall time ${(s.wallMs / 1000).toFixed(2)} s`);
  return lines.join("\n");
}
