import { HaprovError } from "./errors.js";
import { quote } from "./quote.js";
import { UnknownValueError } from "./step.js";

/** `{{ a.b.c }}`: the grammar of a value reference in playbooks. */
export const VALUE_REF = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;

/**
 * `{{ a.b.c }}` substitution from a scope object. Unknown paths are errors (a typo must not render
 * an empty string into a config); `validate` catches them earlier (playbook/check-names.ts). Paths
 * under `registered.`, `gathered.` and `self.` that are absent raise UnknownValueError, which plan
 * reports as "known at apply time".
 */
export function interpolate(text: string, scope: Record<string, unknown>): string {
  return substitute(text, scope, (v) => v);
}

/**
 * The same for a shell line: every value becomes one quoted word (issue #8: nothing from an
 * inventory reaches a shell unquoted). `echo {{ host.name }}` with a name `a b` runs `echo 'a b'`.
 */
export function interpolateShell(text: string, scope: Record<string, unknown>): string {
  return substitute(text, scope, quote);
}

/**
 * The same for a file path (issue #20): each value must be one path segment — not empty, no '/',
 * not '.' or '..', no control character — so a value can name a file but never walk out of the
 * directory the playbook wrote. The path's literal text is the author's own choice.
 */
export function interpolatePath(text: string, scope: Record<string, unknown>): string {
  return substitute(text, scope, (v) => {
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (v === "" || v === "." || v === ".." || v.includes("/") || /[\u0000-\u001f\u007f]/.test(v))
      throw new HaprovError(
        `a value inserted into a file path must be one path segment (no '/', not '.' or '..', not empty, no control characters): got ${JSON.stringify(v)} in ${text}`,
      );
    return v;
  });
}

function substitute(text: string, scope: Record<string, unknown>, word: (v: string) => string): string {
  return text.replace(VALUE_REF, (_m, path: string) => {
    let cur: unknown = scope;
    for (const seg of path.split(".")) {
      if (cur !== null && typeof cur === "object" && Object.hasOwn(cur, seg)) {
        cur = (cur as Record<string, unknown>)[seg];
      } else {
        // Run values (registered, and the hosts' answers to a gather) are known at apply time.
        if (/^(registered|gathered|self)\./.test(path)) throw new UnknownValueError(path);
        throw new HaprovError(`unknown value {{ ${path} }}`, {
          hint: "available: cluster.*, host.*, hosts, vars.*, registered.*, gathered.*, self.*",
        });
      }
    }
    if (Array.isArray(cur)) return cur.map((v) => word(String(v))).join(" ");
    if (cur === undefined || cur === null || typeof cur === "object")
      throw new HaprovError(`{{ ${path} }} is not a plain value`);
    return word(String(cur));
  });
}
