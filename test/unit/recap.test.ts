import { describe, expect, it } from "vitest";
import type { HostTally, RunSummary } from "../../src/core/events.js";
import { formatRecap, hostRanges } from "../../src/cli/render/recap.js";

const tally = (p: Partial<HostTally> = {}): HostTally => ({
  ok: 20,
  changed: 0,
  failed: 0,
  skipped: 2,
  unreachable: false,
  ...p,
});
const summary = (hosts: Record<string, HostTally>, failures: RunSummary["failures"] = []): RunSummary => ({
  dryRun: false,
  interrupted: false,
  wallMs: 1234,
  hosts,
  skippedPhases: [],
  failures,
});

describe("recap", () => {
  it("lists every host on its own row for a small cluster", () => {
    const text = formatRecap(summary({ cp1: tally(), cp2: tally(), cp3: tally({ changed: 1 }) }), false);
    expect(text.split("\n").filter((l) => /^cp\d /.test(l))).toHaveLength(3);
  });

  it("groups identical rows at 50 hosts: one row per distinct outcome, named by ranges", () => {
    const hosts: Record<string, HostTally> = {};
    for (let i = 1; i <= 3; i++) hosts[`cp${i}`] = tally({ ok: 40 });
    for (let i = 1; i <= 47; i++) hosts[`w${i}`] = tally();
    hosts.w5 = tally({ changed: 2 });
    hosts.w40 = tally({ changed: 2 });
    hosts.w9 = tally({ failed: 1 });
    hosts.w10 = tally({ ok: 0, unreachable: true });
    const text = formatRecap(
      summary(hosts, [
        { host: "w9", phase: "prerequisites", step: "packages", message: "apt-get failed" },
        { host: "w5", phase: "prerequisites", step: "swap", message: "swapoff: busy" },
      ]),
      false,
    );
    const lines = text.split("\n");
    expect(lines.length).toBeLessThan(15);
    expect(lines.find((l) => l.startsWith("cp1–cp3 (3) "))).toMatch(/ 40 +0 +0 +2$/);
    expect(lines.find((l) => l.startsWith("w1–w4, w6–w8, w11–w39, w41–w47 (43)"))).toMatch(/ 20 +0 +0 +2$/);
    expect(lines.find((l) => l.startsWith("w5, w40 (2)"))).toMatch(/ 20 +2 +0 +2$/);
    expect(lines.find((l) => l.startsWith("w9 "))).toMatch(/ 1 +2$/);
    expect(lines.find((l) => l.startsWith("w10 "))).toMatch(/UNREACHABLE$/);
    expect(lines).toContain("failed: w9 [prerequisites] packages: apt-get failed");
  });

  it("one line for the same failure on many hosts", () => {
    const hosts: Record<string, HostTally> = {};
    const failures: RunSummary["failures"] = [];
    for (let i = 1; i <= 20; i++) {
      hosts[`w${i}`] = tally({ failed: 1 });
      failures.push({ host: `w${i}`, phase: "join workers", step: "join", message: "token expired" });
    }
    const text = formatRecap(summary(hosts, failures), false);
    expect(text.split("\n").filter((l) => l.startsWith("failed:"))).toEqual([
      "failed: w1–w20 [join workers] join: token expired",
    ]);
  });

  it("folds only runs of plain consecutive numbers under one prefix", () => {
    expect(hostRanges(["cp1", "cp2", "cp3", "w1", "w2", "w4"])).toBe("cp1–cp3, w1–w2, w4");
    expect(hostRanges(["w01", "w02", "alpha", "beta", "w3"])).toBe("w01, w02, alpha, beta, w3");
    expect(hostRanges(["a1", "b2", "b3", "a2"])).toBe("a1, b2–b3, a2");
    expect(hostRanges([])).toBe("");
  });
});
