/**
 * Step conditions: `when: "{{ registered.initNode }} == {{ host.name }}"`. Each condition is
 * `A == B`, `A != B`, or `A` alone (true when A interpolates to a non-empty string); a list means
 * all of them. The operator is found in the raw text, before interpolation, so a value that happens
 * to contain "==" cannot change the meaning.
 */
export function whenHolds(conditions: readonly string[], interpolate: (text: string) => string): boolean {
  return conditions.every((c) => holds(c, interpolate));
}

function holds(condition: string, interpolate: (text: string) => string): boolean {
  const m = /^(.*?)\s+(==|!=)\s+(.*)$/s.exec(condition) ?? /^(.*?)\s+(==|!=)$/s.exec(condition);
  if (!m) return interpolate(condition).trim() !== "";
  const left = interpolate(m[1]!).trim();
  const right = interpolate(m[3] ?? "").trim();
  return m[2] === "==" ? left === right : left !== right;
}
