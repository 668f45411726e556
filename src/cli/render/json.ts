import type { EventListener } from "../../core/events.js";

/** --json: one JSON object per line on stdout, and nothing else there. */
export function jsonRenderer(write: (line: string) => void): EventListener {
  return (e) => {
    if (e.kind === "step-start") return;
    write(`${JSON.stringify({ event: e.kind, ...e, kind: undefined, time: new Date().toISOString() })}\n`);
  };
}
