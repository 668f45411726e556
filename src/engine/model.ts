import type { BoundStep } from "../core/step.js";

/** A playbook ready to run: phases resolved to concrete host names, steps bound to parameters. */
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
  steps: BoundStep[];
  handlers: HandlerDef[];
}

export interface HandlerDef {
  name: string;
  /** Command that performs it, e.g. `systemctl restart haproxy.service`. */
  run: string;
  /** Read-only command polled until it exits 0 after `run` (the unit is healthy again). */
  verify?: string;
  /** Run across hosts one at a time, after the phase's steps finished everywhere. */
  serial: boolean;
}
