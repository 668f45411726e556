import type { EventListener, RunSummary } from "../core/events.js";
import { ExitCode } from "../core/exit-codes.js";
import { errorDetail } from "../core/errors.js";
import { redactingBus } from "./render/bus.js";
import { jsonRenderer } from "./render/json.js";
import { plainRenderer } from "./render/plain.js";
import type { Redactor } from "../core/secret.js";

export type OutputMode = "tty" | "plain" | "json";

export function outputMode(json: boolean): OutputMode {
  if (json) return "json";
  return process.stdout.isTTY && process.env.CI !== "true" ? "tty" : "plain";
}

export const out = (s: string) => void process.stdout.write(s);
export const err = (s: string) => void process.stderr.write(s);

/** Picks the renderer and wraps it in the redacting bus. `done` waits for the display to finish. */
/** listr2 is loaded only when a terminal shows the tree (it is a fifth of start-up). */
export async function makeOutput(
  mode: OutputMode,
  redactor: Redactor,
  opts: { verbose: boolean; showDiffs: boolean; extra?: EventListener[] },
): Promise<{ emit: EventListener; done(): Promise<void> }> {
  const extra = opts.extra ?? [];
  if (mode === "json")
    return { emit: redactingBus(redactor, [jsonRenderer(out), ...extra]), done: async () => {} };
  // -v on a terminal: the plain lines, every step with its reason (see render/tty.ts for why).
  if (mode === "plain" || opts.verbose) {
    return { emit: redactingBus(redactor, [plainRenderer(out, opts), ...extra]), done: async () => {} };
  }
  const { ttyRenderer } = await import("./render/tty.js");
  const tty = ttyRenderer(out);
  return { emit: redactingBus(redactor, [tty.listener, ...extra]), done: () => tty.done() };
}

export function exitCodeFor(s: RunSummary): ExitCode {
  if (s.interrupted) return ExitCode.interrupted;
  const hosts = Object.values(s.hosts);
  if (hosts.some((h) => h.failed > 0 || h.unreachable)) return ExitCode.stepFailed;
  if (s.dryRun && hosts.some((h) => h.changed > 0)) return ExitCode.planHasChanges;
  return ExitCode.ok;
}

export function printError(e: unknown, redactor: Redactor | undefined, verbose: boolean): void {
  const text = verbose ? errorDetail(e) : e instanceof Error ? e.message : String(e);
  const hint =
    !verbose && e && typeof e === "object" && "hint" in e && e.hint ? `\nhint: ${String(e.hint)}` : "";
  const msg = `haprov: ${text}${hint}\n`;
  err(redactor ? redactor.redact(msg) : msg);
}
