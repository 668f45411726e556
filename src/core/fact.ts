/**
 * A typed question about a host: a read-only shell snippet and a parser (pyinfra's facts).
 * Facts are batched: the engine runs all of a phase's facts for a host in one script.
 */
export interface Fact<T> {
  /** Unique per question, e.g. `file:/etc/haproxy/haproxy.cfg`. Equal keys are asked once. */
  readonly key: string;
  /** Read-only POSIX sh snippet. Its stdout and exit code go to `parse`. */
  readonly script: string;
  parse(stdout: string, exitCode: number): T;
  /**
   * Facts of the same kind that one script can answer together (e.g. every file of a batch with
   * one `stat`, one `sha256sum`): the batch runs `combine.script` once for all of them and hands
   * each fact the part of the output `combine.split` cuts for it, as if it had run alone.
   */
  readonly combine?: Combiner;
}

export interface Combiner {
  readonly id: string;
  script(facts: readonly Fact<unknown>[]): string;
  split(stdout: string, facts: readonly Fact<unknown>[]): string[];
}

export interface FactReader {
  get<T>(fact: Fact<T>): T;
}
