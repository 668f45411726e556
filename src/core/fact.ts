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
}

export interface FactReader {
  get<T>(fact: Fact<T>): T;
}
