import { HaprovError } from "./errors.js";
import { UnknownValueError } from "./step.js";

/**
 * `{{ a.b.c }}` substitution from a scope object. Unknown paths are errors (a typo must not render
 * an empty string into a config). Paths under `registered.`, `gathered.` and `self.` that are absent raise UnknownValueError,
 * which plan reports as "known at apply time".
 */
export function interpolate(text: string, scope: Record<string, unknown>): string {
  return text.replace(/\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g, (_m, path: string) => {
    let cur: unknown = scope;
    for (const seg of path.split(".")) {
      if (cur !== null && typeof cur === "object" && seg in (cur as object)) {
        cur = (cur as Record<string, unknown>)[seg];
      } else {
        // Run values (registered, and the hosts' answers to a gather) are known at apply time.
        if (/^(registered|gathered|self)\./.test(path)) throw new UnknownValueError(path);
        throw new HaprovError(`unknown value {{ ${path} }}`, {
          hint: "available: cluster.*, host.*, hosts, vars.*, registered.*, gathered.*, self.*",
        });
      }
    }
    if (cur === undefined || cur === null || typeof cur === "object") {
      if (Array.isArray(cur)) return cur.join(" ");
      throw new HaprovError(`{{ ${path} }} is not a plain value`);
    }
    return String(cur);
  });
}
