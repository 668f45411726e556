/** Documented in README and `haprov --help`. */
export const ExitCode = {
  ok: 0,
  stepFailed: 1,
  planHasChanges: 2,
  invalidInput: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
