import type { HostTally, RunSummary, StepStatus } from "../core/events.js";

export class Tally {
  readonly hosts: Record<string, HostTally> = {};
  readonly failures: RunSummary["failures"] = [];
  readonly skippedPhases: RunSummary["skippedPhases"] = [];

  constructor(names: string[]) {
    for (const n of names)
      this.hosts[n] = {
        ok: 0,
        changed: 0,
        failed: 0,
        skipped: 0,
        unreachable: false,
      };
  }

  count(host: string, status: StepStatus): void {
    const t = this.hosts[host];
    if (t) t[status] += 1;
  }

  fail(host: string, phase: string, step: string, message: string): void {
    this.count(host, "failed");
    this.failures.push({ host, phase, step, message });
  }

  get anyFailed(): boolean {
    return Object.values(this.hosts).some((t) => t.failed > 0 || t.unreachable);
  }
}
