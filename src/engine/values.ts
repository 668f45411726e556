import type { Redactor } from "../core/secret.js";

/** What steps and templates may read of the run so far, in memory only. */
export interface RunScope {
  /** `register:` outputs, `read` values, and each gather's chosen value. */
  registered: Record<string, string>;
  /** Per gather: host name → what that host answered (empty when it had nothing). */
  gathered: Record<string, Record<string, string>>;
}

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
