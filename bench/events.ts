import type { Sample } from "./lab-bench.js";

export type Ev = { event: string; phase?: string; step?: string; durationMs?: number; host?: string };

/** The --json events of a run. */
export const events = (s: Pick<Sample, "stdout">): Ev[] =>
  s.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);

/** The longest package step of the given phases (apt dominates a first bring-up). */
export function aptMs(s: Sample, phases: string[]): number {
  return phases
    .map((p) =>
      Math.max(
        0,
        ...events(s)
          .filter((e) => e.event === "step" && e.phase === p && /packages/.test(e.step ?? ""))
          .map((e) => e.durationMs ?? 0),
      ),
    )
    .reduce((a, b) => a + b, 0);
}
