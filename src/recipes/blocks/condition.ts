import type { HostView } from "./view.js";

/**
 * A step's condition in typed code, with its reason in words: `test` returns undefined when the
 * step applies to this host, or why it does not ("cp1 initialises the cluster"), which the run
 * prints as the skip reason. It may raise UnknownValueError while a value it needs is not known.
 */
export interface Condition {
  test(v: HostView): string | undefined;
}

export const when = (test: (v: HostView) => string | undefined): Condition => ({ test });

/** Every condition holds; the reason is the first that does not. */
export const all = (...conds: Condition[]): Condition => ({
  test: (v) => {
    for (const c of conds) {
      const why = c.test(v);
      if (why !== undefined) return why;
    }
    return undefined;
  },
});
