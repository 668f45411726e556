import type { z } from "zod";
import type { InputIssue, SourceLocation } from "../core/errors.js";
import { formatPath } from "./yaml-source.js";

export type Locator = (path: readonly PropertyKey[], key?: string) => SourceLocation | undefined;

/** Turns zod issues into located, operator-readable ones. */
export function fromZod(error: z.ZodError, locate: Locator): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({
          location: locate(issue.path, key),
          path: formatPath([...issue.path, key]),
          message: `unknown key "${key}" (check the spelling; see inventories/README.md for the fields)`,
          severity: "error",
        });
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && /received undefined/.test(message)) {
      message = `is required: ${message.replace(/^Invalid input: /, "")}`;
    }
    out.push({
      location: locate(issue.path),
      path: formatPath(issue.path),
      message,
      severity: "error",
    });
  }
  return out;
}
