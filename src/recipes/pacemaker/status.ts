import { clusterOf, type Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import type { HostHealth, StatusReader } from "../recipe.js";
import { nodesText } from "../kubeadm/nodes-status.js";
import { holdsVip } from "../vip/gate.js";
import { lbProblems, lbStatusFact, type LbStatus } from "../vip/status.js";
import { HAPROXY_CLONE_ID, VIP_ID } from "./cib.js";
import { findAll, parseXml } from "./xml.js";

/** What Pacemaker says of the cluster, as one node sees it (`crm_mon --output-as=xml`). */
export interface PacemakerView {
  running: boolean;
  quorate: boolean;
  online: string[];
  offline: string[];
  /** Nodes Pacemaker runs the VIP / a haproxy instance on. */
  vipOn: string[];
  haproxyOn: string[];
  failedActions: string[];
  fencing: "enabled" | "disabled";
  /** This node has the VIP on an interface (what the network sees). */
  holdsVip: boolean;
}

export function parseCrmMon(xml: string, holds: boolean): PacemakerView {
  const doc = parseXml(xml);
  const nodes = findAll(doc, "nodes").flatMap((n) => n.children.filter((c) => c.name === "node"));
  const resources = findAll(doc, "resource");
  const on = (id: string) =>
    resources
      .filter((r) => r.attrs.id === id && r.attrs.role === "Started")
      .flatMap((r) => r.children.filter((c) => c.name === "node").map((c) => c.attrs.name!));
  const options = findAll(doc, "cluster_options")[0];
  return {
    running: findAll(doc, "pacemakerd")[0]?.attrs.state === "running" || nodes.length > 0,
    quorate: findAll(doc, "current_dc")[0]?.attrs.with_quorum === "true",
    online: nodes.filter((n) => n.attrs.online === "true").map((n) => n.attrs.name!),
    offline: nodes.filter((n) => n.attrs.online !== "true").map((n) => n.attrs.name!),
    vipOn: on(VIP_ID),
    haproxyOn: on("haproxy"),
    failedActions: findAll(doc, "failure").map(
      (f) => `${f.attrs.op_key ?? f.attrs.id} on ${f.attrs.node} (${f.attrs.exitreason || f.attrs.status})`,
    ),
    fencing: options?.attrs["stonith-enabled"] === "false" ? "disabled" : "enabled",
    holdsVip: holds,
  };
}

const SEP = "@@haprov-pcmk@@";

/** Pacemaker's view, the VIP on this node, and the API part (design A's API checks) in one script. */
function pacemakerFact(host: HostSpec, inv: Inventory): Fact<HostHealth> {
  const api = lbStatusFact({
    vip: clusterOf(inv, ["pacemaker"]).vip,
    lbPort: inv.cluster.lbPort,
    address: host.address,
    apiServerPort: inv.cluster.apiServerPort,
    lb: false,
    api: true,
  });
  return {
    key: `pacemaker-status:${host.name}`,
    script: [
      "crm_mon -1 --output-as=xml 2>/dev/null || true",
      `echo ${SEP}`,
      `${holdsVip(clusterOf(inv, ["pacemaker"]).vip)} && echo yes || echo no`,
      `echo ${SEP}`,
      api.script,
    ].join("\n"),
    parse(out, code) {
      const [xml = "", holds = "", rest = ""] = out.split(`${SEP}\n`);
      const pcmk = parseCrmMon(xml, holds.trim() === "yes");
      const apiPart = api.parse(rest, code);
      return {
        line: `pacemaker=${pcmk.running ? (pcmk.quorate ? "quorate" : "NOT quorate") : "stopped"} online=${pcmk.online.join(",") || "-"} vip=${pcmk.holdsVip ? "held" : "-"} apiserver=${apiPart.apiserverHealthz} via-vip=${apiPart.vipHealthz}`,
        data: { pacemaker: pcmk, api: apiPart },
      };
    },
  };
}

/** `haprov status` for design D: Pacemaker's view (nodes, quorum, the VIP, haproxy, failures, fencing) and the API. */
export const pacemakerStatus: StatusReader = {
  fact: (host, inv) =>
    host.roles.includes("control-plane") && inv.cluster.vip ? pacemakerFact(host, inv) : undefined,
  verdict(rows, inv, hosts) {
    const cps = hosts.filter((h) => h.roles.includes("control-plane")).map((h) => h.name);
    const data = new Map(
      cps.map((h) => [h, rows.get(h)?.data as { pacemaker: PacemakerView; api: LbStatus } | undefined]),
    );
    const problems: string[] = [];
    const view = [...data.values()].find((d) => d?.pacemaker.running)?.pacemaker;
    if (!view) problems.push("no node answers for Pacemaker (not set up, or stopped everywhere)");
    else {
      if (!view.quorate) problems.push("the Pacemaker cluster has no quorum");
      const offline = cps.filter((c) => !view.online.includes(c));
      if (offline.length > 0) problems.push(`not online in the cluster: ${offline.join(", ")}`);
      if (view.vipOn.length !== 1)
        problems.push(
          view.vipOn.length === 0
            ? `Pacemaker runs ${VIP_ID} nowhere`
            : `${VIP_ID} runs on ${view.vipOn.join(" and ")}`,
        );
      const noHaproxy = cps.filter((c) => view.online.includes(c) && !view.haproxyOn.includes(c));
      if (noHaproxy.length > 0)
        problems.push(`${HAPROXY_CLONE_ID} is not started on ${noHaproxy.join(", ")}`);
      for (const f of view.failedActions) problems.push(`failed action: ${f}`);
    }
    const holders = cps.filter((c) => data.get(c)?.pacemaker.holdsVip);
    if (holders.length !== 1)
      problems.push(
        holders.length === 0
          ? "no node holds the VIP"
          : `the VIP is held by ${holders.join(" and ")} (split brain)`,
      );
    const apis = Object.fromEntries(cps.map((c) => [c, data.get(c)?.api]));
    problems.push(...lbProblems(apis, cps, []).filter((p) => !/holds the VIP|held by/.test(p)));
    const nodes = Object.values(apis).find((a) => a?.nodes)?.nodes;
    const fencing = view?.fencing ?? "unknown";
    return {
      line: `VIP ${inv.cluster.vip}:${inv.cluster.lbPort} held by ${holders.join(", ") || "nobody"} (Pacemaker: ${view?.vipOn.join(", ") || "nowhere"}); quorum ${view?.quorate ? "yes" : "no"}; fencing ${fencing}${fencing === "disabled" ? " (lab only)" : ""}; nodes: ${nodesText(nodes)}`,
      data: {
        vip: inv.cluster.vip,
        vipHolders: holders,
        pacemaker: view ?? null,
        fencing,
        nodes: nodes ?? null,
      },
      problems,
    };
  },
};
