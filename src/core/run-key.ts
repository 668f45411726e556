import { UnknownValueError, type RunScope } from "./step.js";

/**
 * A value produced on one host during a run and used elsewhere (the init node, the VIP holder, the
 * cluster's CA, the VRRP secret), declared once with what it means. Code refers to the constant,
 * so a misspelt name does not compile; YAML playbooks may name it as `{{ registered.NAME }}`.
 */
export interface RunKey {
  readonly name: string;
  /** What the value is, in words ("the node that initialises the cluster"). */
  readonly what: string;
  readonly secret: boolean;
}

export function runKey(name: string, what: string, o: { secret?: boolean } = {}): RunKey {
  return { name, what, secret: o.secret ?? false };
}

/** The value, or UnknownValueError (plan: "known at apply time") when the run has not produced it. */
export function valueOf(scope: RunScope, key: RunKey): string {
  const v = scope.registered[key.name];
  if (v === undefined) throw new UnknownValueError(`registered.${key.name}`, key.what);
  return v;
}

/** Each host's answer to the gather that produces `key` (empty string: that host had none). */
export function answersOf(scope: RunScope, key: RunKey): Record<string, string> {
  const v = scope.gathered[key.name];
  if (v === undefined) throw new UnknownValueError(`gathered.${key.name}`, `each host's ${key.what}`);
  return v;
}
