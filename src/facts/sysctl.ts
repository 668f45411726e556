import type { Fact } from "../core/fact.js";
import { quote } from "../core/quote.js";

/** Live value of a sysctl, read from /proc/sys (undefined when the key does not exist here). */
export function sysctlValue(name: string): Fact<string | undefined> {
  const path = `/proc/sys/${name.replaceAll(".", "/")}`;
  return {
    key: `sysctl:${name}`,
    script: `cat ${quote(path)}`,
    parse: (out, code) => (code === 0 ? normalizeSysctl(out) : undefined),
  };
}

/** sysctl prints multi-value keys with tabs; compare on single spaces. */
export function normalizeSysctl(v: string): string {
  return v.trim().split(/\s+/).join(" ");
}
