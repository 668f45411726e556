import type { Guard } from "./guard.js";
import type { RunScope } from "./run-scope.js";
import type { ValidateSpec } from "./transport.js";

/**
 * What a step wants done. Steps return these; only engine/executor performs them, and it alone
 * decides dry-run (STYLE.md habit 1).
 *
 * `on` names another host of the run that performs the action on this host's behalf (a bootstrap
 * token made on the init node for one joining node, a member added by an existing one): the same
 * executor, so the same dry-run, events and redaction. A value produced by an earlier action of the
 * same plan (a token) is read by a later one through a function of the run's values.
 */
export type Later<T> = T | ((scope: RunScope) => T);

export type Action =
  | {
      kind: "exec";
      command: Later<string>;
      on?: string;
      /** Exit codes that count as success. Default [0]. */
      okCodes?: number[];
      /** Store trimmed stdout under this name for later templates, in memory only. */
      register?: { name: string; secret: boolean };
      timeoutMs?: number;
      /** Written to the command's stdin (a password a tool reads there, never on its command line). */
      stdin?: Later<string>;
      /** What it does, in words, for plan ("kubeadm reset"): needed when it has guards. */
      what?: string;
      /** Destructive: runs only when the engine finds every guard holds (core/guard.ts). */
      guards?: Guard[];
    }
  | {
      kind: "write";
      path: string;
      content: Later<Buffer>;
      mode: string;
      owner: string;
      group: string;
      on?: string;
      validate?: ValidateSpec;
    };

export type StepPlan =
  /**
   * Nothing to change. `produces`: values read from the host, kept for later steps (plan too).
   * `warnings`: what the operator must see even without -v (an even etcd count left, a node to
   * wipe), reported as warning events of this host.
   */
  | { kind: "noop"; reason: string; produces?: ProducedValue[]; warnings?: string[] }
  /** The step does not apply to this host; the reason says why in words. */
  | { kind: "skip"; reason: string }
  | {
      kind: "change";
      summary: string;
      actions: Action[];
      diff?: string;
      /** Run after the actions whether they succeeded or not (e.g. delete a bootstrap token). */
      always?: Action[];
      /**
       * Run only when the actions failed, before `always`: undoing what the failed attempt made
       * (a failed join reset). Destructive ones carry guards; one the engine refuses is not run,
       * and the failure says so and why.
       */
      onFailure?: Action[];
      /**
       * The actions only observe (a wait polling a read-only probe): the host is not changed, so
       * the step reports ok, not changed, and the run's read-ahead answers stay valid.
       */
      observeOnly?: true;
    };

export interface ProducedValue {
  name: string;
  value: string;
  secret: boolean;
}

export const noop = (reason: string, produces?: ProducedValue[]): StepPlan =>
  produces ? { kind: "noop", reason, produces } : { kind: "noop", reason };
export const skip = (reason: string): StepPlan => ({ kind: "skip", reason });
/** Actions that only wait on the host (see `observeOnly`). */
export const observe = (summary: string, actions: Action[]): StepPlan => ({
  kind: "change",
  summary,
  actions,
  observeOnly: true,
});
export const change = (summary: string, actions: Action[], diff?: string): StepPlan =>
  diff === undefined ? { kind: "change", summary, actions } : { kind: "change", summary, actions, diff };
