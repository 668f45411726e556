/**
 * Step conditions of YAML playbooks: `when: "{{ registered.x }} == {{ host.name }}"`. Each
 * condition is `A == B`, `A != B`, or `A` alone (true when A interpolates to a non-empty string); a
 * list means all of them. The operator is found in the raw text, before interpolation, so a value
 * that happens to contain "==" cannot change the meaning. (HA recipes decide in typed code.)
 */
export interface ParsedCondition {
  left: string;
  op: "==" | "!=" | undefined;
  right: string;
}

export function parseCondition(condition: string): ParsedCondition {
  const m = /^(.*?)\s+(==|!=)\s+(.*)$/s.exec(condition) ?? /^(.*?)\s+(==|!=)$/s.exec(condition);
  if (!m) return { left: condition, op: undefined, right: "" };
  return { left: m[1]!, op: m[2] as "==" | "!=", right: m[3] ?? "" };
}

export function whenHolds(conditions: readonly string[], interpolate: (text: string) => string): boolean {
  return whyNot(conditions, interpolate) === undefined;
}

/** undefined when every condition holds; otherwise the first that does not, with its values filled in. */
export function whyNot(
  conditions: readonly string[],
  interpolate: (text: string) => string,
): string | undefined {
  for (const c of conditions) {
    const { left, op, right } = parseCondition(c);
    const l = interpolate(left).trim();
    if (op === undefined) {
      if (l === "") return `"${left.trim()}" is empty`.replace(/\{\{\s*([^}]*?)\s*\}\}/g, "$1");
      continue;
    }
    const r = interpolate(right).trim();
    if ((op === "==") !== (l === r)) return `"${l} ${op} ${r}" is false`;
  }
  return undefined;
}
