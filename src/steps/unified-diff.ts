import { createTwoFilesPatch } from "diff";

/** Unified diff of a file's live and desired content (the `diff` package is imported only here). */
export function unifiedDiff(path: string, before: string, after: string): string {
  return createTwoFilesPatch(`${path} (live)`, `${path} (desired)`, before, after, "", "", { context: 3 })
    .split("\n")
    .filter((l) => !l.startsWith("===="))
    .join("\n");
}
