import type { Redactor } from "../core/secret.js";

/**
 * Values produced by steps (a join command, a token), kept in memory only for this run. Secret
 * ones are added to the run's Redactor the moment they exist.
 */
export class RunValues {
  #values = new Map<string, string>();
  constructor(private readonly redactor: Redactor) {}

  set(name: string, value: string, secret: boolean): void {
    if (secret) this.redactor.add(value);
    this.#values.set(name, value);
  }

  /** Snapshot for interpolation: `registered.NAME`. */
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }
}
