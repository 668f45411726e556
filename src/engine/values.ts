import type { Redactor } from "../core/secret.js";
import type { RunScope } from "../core/step.js";

export type { RunScope } from "../core/step.js";

/**
 * Values produced during a run (a join command, a token, a secret read back from the hosts), kept
 * in memory only. Secret ones are added to the run's Redactor the moment they exist.
 */
export class RunValues {
  #values = new Map<string, string>();
  #gathered = new Map<string, Record<string, string>>();
  constructor(private readonly redactor: Redactor) {}

  set(name: string, value: string, secret: boolean): void {
    if (secret) this.redactor.add(value);
    this.#values.set(name, value);
  }

  setGathered(name: string, byHost: Record<string, string>, secret: boolean): void {
    if (secret) for (const v of Object.values(byHost)) this.redactor.add(v);
    this.#gathered.set(name, byHost);
  }

  snapshot(): RunScope {
    return { registered: Object.fromEntries(this.#values), gathered: Object.fromEntries(this.#gathered) };
  }
}
