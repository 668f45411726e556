import { Chalk } from "chalk";
import type { HostTally, RunSummary } from "../../core/events.js";

/** Above this many hosts, hosts with the same counts share one row (a 50-host recap stays a screen). */
export const GROUP_ABOVE = 8;

/** The closing table: ok/changed/failed/skipped per host, failures, phases not started, wall time. */
export function formatRecap(s: RunSummary, color: boolean): string {
  const c = new Chalk(color ? {} : { level: 0 });
  const names = Object.keys(s.hosts);
  const rows =
    names.length > GROUP_ABOVE ? groupRows(s.hosts) : names.map((n) => ({ label: n, t: s.hosts[n]! }));
  const width = Math.max(4, ...rows.map((r) => r.label.length));
  const changedLabel = s.dryRun ? "to-change" : "changed";
  const lines = [
    "",
    c.bold(`RECAP${s.dryRun ? " (plan: nothing was changed)" : ""}`),
    `${"host".padEnd(width)}  ${"ok".padStart(4)}  ${changedLabel.padStart(9)}  ${"failed".padStart(6)}  ${"skipped".padStart(7)}`,
  ];
  for (const { label, t } of rows) {
    const row = `${label.padEnd(width)}  ${String(t.ok).padStart(4)}  ${String(t.changed).padStart(9)}  ${String(t.failed).padStart(6)}  ${String(t.skipped).padStart(7)}${t.unreachable ? "  UNREACHABLE" : ""}`;
    lines.push(t.failed > 0 || t.unreachable ? c.red(row) : t.changed > 0 ? c.yellow(row) : c.green(row));
  }
  for (const f of groupFailures(s.failures))
    lines.push(c.red(`failed: ${f.hosts} [${f.phase}] ${f.step}: ${f.message}`));
  for (const p of s.skippedPhases) lines.push(c.yellow(`phase ${p.phase} ${p.reason}`));
  if (s.interrupted) lines.push(c.yellow("interrupted: no new steps were started after Ctrl-C"));
  lines.push(`wall time ${(s.wallMs / 1000).toFixed(2)} s`);
  return lines.join("\n");
}

/** Hosts with identical counts in one row, labelled `w1–w47 (47)`; rows keep inventory order. */
function groupRows(hosts: Record<string, HostTally>): { label: string; t: HostTally }[] {
  const groups = new Map<string, { names: string[]; t: HostTally }>();
  for (const [name, t] of Object.entries(hosts)) {
    const key = `${t.ok}/${t.changed}/${t.failed}/${t.skipped}/${t.unreachable}`;
    const g = groups.get(key) ?? { names: [], t };
    g.names.push(name);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({
    label: g.names.length > 1 ? `${hostRanges(g.names)} (${g.names.length})` : g.names[0]!,
    t: g.t,
  }));
}

/** The same failure on several hosts is one line naming them all. */
function groupFailures(failures: RunSummary["failures"]) {
  const groups = new Map<string, { names: string[]; phase: string; step: string; message: string }>();
  for (const f of failures) {
    const key = JSON.stringify([f.phase, f.step, f.message]);
    const g = groups.get(key) ?? { names: [], phase: f.phase, step: f.step, message: f.message };
    g.names.push(f.host);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ ...g, hosts: hostRanges(g.names) }));
}

/**
 * Host names with runs of consecutive numbers folded: `cp1, cp2, cp3, w1, w2, w4` →
 * `cp1–cp3, w1–w2, w4`. Names without a trailing number are listed as they are.
 */
export function hostRanges(names: readonly string[]): string {
  const parts: string[] = [];
  let run: { prefix: string; from: number; to: number; first: string; last: string } | undefined;
  const flush = () => {
    if (run) parts.push(run.from === run.to ? run.first : `${run.first}–${run.last}`);
    run = undefined;
  };
  for (const name of names) {
    const m = /^(.*?)(\d+)$/.exec(name);
    const n = m ? Number(m[2]) : NaN;
    // a leading zero (w01) is part of the name: fold only plain numbers
    if (m && run && m[1] === run.prefix && n === run.to + 1 && String(n) === m[2]) {
      run.to = n;
      run.last = name;
      continue;
    }
    flush();
    if (m && String(n) === m[2]) run = { prefix: m[1]!, from: n, to: n, first: name, last: name };
    else parts.push(name);
  }
  flush();
  return parts.join(", ");
}
