/**
 * Everything the engine reports, as a discriminated union. The engine never prints; renderers
 * (tty, plain, json) are listeners, and `assertNever` in each makes an event kind without a
 * formatter a compile error (STYLE.md habit 8).
 */
export type StepStatus = "ok" | "changed" | "failed" | "skipped";

export interface PhaseOutline {
  name: string;
  hosts: string[];
  steps: string[];
}

export type RunEvent =
  | {
      kind: "run-start";
      command: string;
      playbook: string;
      dryRun: boolean;
      hosts: string[];
      phases: PhaseOutline[];
    }
  | {
      kind: "connect";
      host: string;
      ok: boolean;
      durationMs: number;
      error?: string;
    }
  | { kind: "phase-start"; phase: string; hosts: string[] }
  | {
      kind: "phase-skipped";
      phase: string;
      reason: string;
      /** The normal case (nothing changed, so nothing to settle): shown with -v only. */
      quiet?: boolean;
    }
  | { kind: "phase-end"; phase: string; durationMs: number }
  | {
      kind: "step-start";
      phase: string;
      host: string;
      step: string;
      index: number;
    }
  | {
      kind: "step";
      phase: string;
      host: string;
      step: string;
      index: number;
      status: StepStatus;
      changed: boolean;
      durationMs: number;
      /** Why nothing changed, what changed, or why it failed/was skipped. */
      message: string;
      diff?: string;
      /** Long error form, for -v. */
      detail?: string;
    }
  | {
      kind: "handler";
      phase: string;
      host: string;
      handler: string;
      status: StepStatus;
      durationMs: number;
      message: string;
      /** A failure's command, exit code and output (as a step's). */
      detail?: string;
    }
  | { kind: "warning"; message: string; host?: string }
  | { kind: "summary"; summary: RunSummary };

export interface HostTally {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
}

export interface RunSummary {
  dryRun: boolean;
  interrupted: boolean;
  wallMs: number;
  hosts: Record<string, HostTally>;
  /** Phases that did not start, with the reason. */
  skippedPhases: { phase: string; reason: string }[];
  failures: { host: string; phase: string; step: string; message: string }[];
}

export type EventListener = (event: RunEvent) => void;

export function assertNever(x: never): never {
  throw new Error(`unhandled event: ${JSON.stringify(x)}`);
}
