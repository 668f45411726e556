import { clusterOf, type Inventory } from "../../config/schema.js";
import type { RuleIssue } from "../recipe.js";
import { vipRules } from "../vip/rules.js";

export function rules(inv: Inventory): RuleIssue[] {
  const issues: RuleIssue[] = [...vipRules(inv, "control-plane")];
  if (inv.cluster.lbPort === inv.cluster.apiServerPort)
    issues.push({
      path: ["cluster", "lbPort"],
      message: `must differ from the API server port ${inv.cluster.apiServerPort}: haproxy runs on the control-plane nodes, where kube-apiserver already binds *:${inv.cluster.apiServerPort} (use 8443)`,
      severity: "error",
    });
  const s = clusterOf(inv, ["pacemaker"]).pacemaker;
  if (!s) {
    issues.push({
      path: ["cluster"],
      message:
        'mode pacemaker needs "pacemaker: { fencing: [...] }": a Pacemaker cluster without a fence device starts nothing (write fencing: disabled for a lab)',
      severity: "error",
    });
    return issues;
  }
  if (s.fencing === "disabled")
    issues.push({
      path: ["cluster", "pacemaker", "fencing"],
      message:
        "fencing is disabled: a node that stops answering is not powered off before its resources start elsewhere, so two nodes may hold the VIP. Use this only in a lab",
      severity: "warning",
    });
  else {
    const names = new Set(inv.hosts.map((h) => h.name));
    const ids = new Set<string>();
    s.fencing.forEach((d, i) => {
      if (!names.has(d.host))
        issues.push({
          path: ["cluster", "pacemaker", "fencing", i, "host"],
          message: `"${d.host}" is not a host of the inventory`,
          severity: "error",
        });
      if (ids.has(d.id))
        issues.push({
          path: ["cluster", "pacemaker", "fencing", i, "id"],
          message: `duplicate fence device id "${d.id}"`,
          severity: "error",
        });
      ids.add(d.id);
      for (const [k, val] of Object.entries(d.options))
        if (/pass/i.test(k) && String(val).length < 6)
          issues.push({
            path: ["cluster", "pacemaker", "fencing", i, "options", k],
            message:
              "a password needs at least 6 characters: a shorter one cannot be masked safely in output",
            severity: "error",
          });
    });
  }
  return issues;
}
