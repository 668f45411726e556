import type { Guard } from "./guard.js";
import type { BoundStep, StepContext } from "./step.js";

/**
 * A playbook ready to run: phases resolved to concrete host names, steps bound to parameters. Both
 * the YAML playbooks (playbook/compile.ts) and the HA recipes (recipes/) produce this; the engine
 * runs it.
 */
export interface CompiledPlaybook {
  name: string;
  phases: CompiledPhase[];
}

export interface CompiledPhase {
  name: string;
  hosts: string[];
  /**
   * `all`: the phase does not start if any host has failed so far (the default: a control plane is
   * not built on a partial set). `any`: it runs on the hosts still healthy.
   */
  requires: "all" | "any";
  /**
   * At most this many hosts at a time (control-plane joins: 1). Once a host fails, the hosts not yet
   * started are skipped: a quorum-safe roll stops at the first failure.
   */
  serial: number | undefined;
  /** Read on every host of the phase before any step plans (a barrier): see GatherDef. */
  gather: GatherDef[];
  /** Hosts the phase's selector named that --limit excluded. */
  limitedOut: string[];
  steps: BoundStep[];
  handlers: HandlerDef[];
  /**
   * A check the rest of the run depends on (the cluster's membership): when it fails on any host,
   * no later phase starts, whatever their `requires`.
   */
  gate?: boolean;
  /**
   * Runs only when something changed (or, in plan, would change) earlier in the run: a barrier
   * that a converged rerun has no reason to wait on (the endpoint answering steadily after the
   * run). The text says why it did not run. Never read ahead.
   */
  onlyAfterChanges?: string;
  /**
   * Serial handlers visit the hosts where this read-only probe succeeds last (e.g. the VIP holder,
   * so a rolling reload moves the VIP at most once, after every other node is healthy again).
   */
  rollLast?: (ctx: StepContext) => string;
}

/**
 * A question asked of every host of a phase at once, for decisions no single host can make: which
 * node is already initialised, who holds the VIP, the VRRP secret the cluster already uses.
 * Every answer is kept (`gathered.NAME.HOST`), and the first non-empty one in inventory order is
 * registered as NAME — or, when no host has one and `generate` is set, a value made up once.
 */
export interface GatherDef {
  name: string;
  /** Read-only POSIX sh snippet for this host (values already quoted); its trimmed stdout is the answer. */
  script: (ctx: StepContext) => string;
  secret: boolean;
  generate?: { length: number } | undefined;
  /** No host answered: register the phase's first host (e.g. the node that runs `kubeadm init`). */
  otherwise?: "first-host" | "empty" | undefined;
  /** Exactly one host must answer (e.g. the VIP holder), asked again for up to waitSec. */
  expect?: "one" | undefined;
  waitSec?: number | undefined;
  message?: string | undefined;
}

export interface HandlerDef {
  name: string;
  /** Command that performs it on this host, e.g. `systemctl restart haproxy.service`. */
  run: (ctx: StepContext) => string;
  /** Read-only command polled until it exits 0 after `run` (the unit is healthy again). */
  verify?: (ctx: StepContext) => string;
  /** Run across hosts one at a time, after the phase's steps finished everywhere. */
  serial: boolean;
  /**
   * Checked by the engine before `run` (a restart that stops an etcd member: its quorum); a
   * refusal fails the handler on this host, nothing run (core/guard.ts).
   */
  guards?: (ctx: StepContext) => Guard[];
}
