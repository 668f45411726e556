import type { z } from "zod";
import type { InputIssue, SourceLocation } from "../core/errors.js";
import { formatPath } from "./yaml-source.js";

export type Locator = (path: readonly PropertyKey[], key?: string) => SourceLocation | undefined;

/**
 * Turns zod issues into located, operator-readable ones. With `data` (what was validated), a field
 * that is absent is reported as required whatever the field's own format message says.
 */
export function fromZod(
  error: z.ZodError,
  locate: Locator,
  data?: unknown,
  /** Why a key is unknown there, when the caller knows better than "check the spelling". */
  unknownKey?: (path: readonly PropertyKey[], key: string) => string | undefined,
): InputIssue[] {
  return located(error.issues, locate, data, unknownKey);
}

type Issue = z.ZodError["issues"][number];

/**
 * A union whose one alternative got inside the value (a list of fence devices, rather than the
 * word "disabled") is reported by that alternative's own issues, at their own paths (issue #20: a
 * bad option was reported only as "expected a list of fence devices").
 */
function deeper(issue: Issue): Issue[] | undefined {
  if (issue.code !== "invalid_union") return undefined;
  const inside = (issue.errors ?? []).filter(
    (branch) => branch.length > 0 && branch.every((i) => i.path.length > 0),
  );
  if (inside.length !== 1) return undefined;
  return inside[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

function located(
  issues: readonly Issue[],
  locate: Locator,
  data?: unknown,
  unknownKey?: (path: readonly PropertyKey[], key: string) => string | undefined,
): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of issues) {
    const inner = deeper(issue);
    if (inner) {
      out.push(...located(inner, locate, data, unknownKey));
      continue;
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({
          location: locate(issue.path, key),
          path: formatPath([...issue.path, key]),
          message:
            unknownKey?.(issue.path, key) ??
            `unknown key "${key}" (check the spelling; haprov schema lists the fields)`,
          severity: "error",
        });
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === "invalid_key" && issue.issues[0]) message = issue.issues[0].message;
    if (
      (issue.code === "invalid_type" && /received undefined/.test(message)) ||
      (data !== undefined && issue.path.length > 0 && valueAt(data, issue.path) === undefined)
    ) {
      message = `is required: ${message.replace(/^Invalid input: /, "")}`;
    }
    // A bad key is located at the key, not at its value.
    const keyIssue =
      (issue.code === "invalid_key" || (issue.code === "custom" && issue.params?.at === "key")) &&
      issue.path.length > 0;
    out.push({
      location: keyIssue ? locate(issue.path.slice(0, -1), String(issue.path.at(-1))) : locate(issue.path),
      path: formatPath(issue.path),
      message,
      severity: "error",
    });
  }
  return out;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}
