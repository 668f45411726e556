/** Values produced during a run, as steps see them (in memory only). */
export interface RunScope {
  /** `register:` outputs, `read` values, and each gather's chosen value. */
  registered: Record<string, string>;
  /** Per gather: host name → what that host answered (empty when it had nothing). */
  gathered: Record<string, Record<string, string>>;
}
