import type { ValidateSpec } from "./transport.js";

/**
 * What a step wants done. Steps return these; only engine/executor performs them, and it alone
 * decides dry-run (STYLE.md habit 1).
 */
export type Action =
  | {
      kind: "exec";
      command: string;
      /** Exit codes that count as success. Default [0]. */
      okCodes?: number[];
      /** Store trimmed stdout under this name for later templates, in memory only. */
      register?: { name: string; secret: boolean };
      timeoutMs?: number;
    }
  | {
      kind: "write";
      path: string;
      content: Buffer;
      mode: string;
      owner: string;
      group: string;
      validate?: ValidateSpec;
    };

export type StepPlan =
  /** Nothing to change. `produces`: values read from the host, kept for later steps (plan too). */
  | { kind: "noop"; reason: string; produces?: ProducedValue[] }
  | { kind: "skip"; reason: string }
  | { kind: "change"; summary: string; actions: Action[]; diff?: string };

export interface ProducedValue {
  name: string;
  value: string;
  secret: boolean;
}

export const noop = (reason: string, produces?: ProducedValue[]): StepPlan =>
  produces ? { kind: "noop", reason, produces } : { kind: "noop", reason };
export const skip = (reason: string): StepPlan => ({ kind: "skip", reason });
export const change = (summary: string, actions: Action[], diff?: string): StepPlan =>
  diff === undefined ? { kind: "change", summary, actions } : { kind: "change", summary, actions, diff };
