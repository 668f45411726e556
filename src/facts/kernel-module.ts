import type { Fact } from "../core/fact.js";
import { quote } from "../core/quote.js";

export type ModuleState = "loaded" | "builtin" | "absent";

/**
 * Built-in modules often have no /sys/module entry, and kernels without loadable modules have no
 * modules.builtin list (the lab kernel; LAB-NOTES.md). These paths prove the feature is present.
 */
const FEATURE_PROBES: Record<string, string> = {
  br_netfilter: "/proc/sys/net/bridge/bridge-nf-call-iptables",
  overlay: "/sys/module/overlay",
  ip_vs: "/proc/net/ip_vs",
  nf_conntrack: "/proc/sys/net/netfilter/nf_conntrack_max",
};

export function kernelModule(name: string): Fact<ModuleState> {
  const probe = FEATURE_PROBES[name];
  return {
    key: `kmod:${name}`,
    script: [
      `if grep -q ${quote(`^${name.replaceAll("-", "_")} `)} /proc/modules; then echo loaded;`,
      `elif grep -qsF ${quote(`/${name}.ko`)} "/lib/modules/$(uname -r)/modules.builtin"; then echo builtin;`,
      `elif [ -d ${quote(`/sys/module/${name}`)} ] && [ ! -e ${quote(`/sys/module/${name}/initstate`)} ]; then echo builtin;`,
      probe ? `elif [ -e ${quote(probe)} ]; then echo builtin;` : "",
      "else echo absent; fi",
    ].join(" "),
    parse: (out) => {
      const v = out.trim();
      return v === "loaded" || v === "builtin" ? v : "absent";
    },
  };
}
