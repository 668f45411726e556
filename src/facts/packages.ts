import type { Fact } from "../core/fact.js";
import { command } from "../core/quote.js";

/** Which of `names` are installed, for dpkg- or rpm-based hosts alike (one snippet, no OS probe). */
export function installedPackages(names: string[]): Fact<Set<string>> {
  const sorted = [...names].sort();
  const list = command(...sorted);
  return {
    key: `packages:${sorted.join(",")}`,
    script:
      `if command -v dpkg-query >/dev/null; then dpkg-query -W -f '\${Package} \${db:Status-Abbrev}\\n' ${list}; ` +
      `elif command -v rpm >/dev/null; then rpm -q --qf '%{NAME} ii\\n' ${list} | grep -v 'is not installed'; fi`,
    parse(out) {
      const installed = new Set<string>();
      for (const line of out.split("\n")) {
        const [pkg, status] = line.trim().split(/\s+/);
        // dpkg "ii" = desired install, installed. "rc" (removed, config left) is not installed.
        if (pkg && status?.startsWith("ii")) installed.add(pkg.split(":")[0]!);
      }
      return installed;
    },
  };
}
