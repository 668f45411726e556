import type { Fact } from "../../core/fact.js";
import { sh } from "../../core/quote.js";
import type { HostHealth, StatusReader } from "../recipe.js";
import { nameValuePairs, nodeProblems, nodesText, NODES_SCRIPT } from "../kubeadm/nodes-status.js";
import { holdsVip } from "../vip/gate.js";
import { KUBE_VIP_MANIFEST, LEASE_NAME } from "./manifest.js";

/**
 * What `haprov status` reads on a kube-vip control-plane node, in its one round trip: whether it
 * holds the VIP, which kubeconfig its kube-vip manifest mounts, the lease holder as the API says,
 * its API server's health and /healthz through the VIP, and the nodes.
 */
export interface KubeVipStatus {
  holdsVip: boolean;
  /** "admin.conf", "super-admin.conf", or "none" (no manifest). */
  kubeconfig: string;
  leaseHolder: string;
  apiserverHealthz: string;
  vipHealthz: string;
  nodes: Record<string, string> | undefined;
}

const SEP = "@@haprov-status@@";
const ADMIN = "/etc/kubernetes/admin.conf";

export const kubeVipStatus: StatusReader = {
  fact(host, inv): Fact<HostHealth> | undefined {
    if (!host.roles.includes("control-plane") || !inv.cluster.vip) return undefined;
    const code = (url: string) => sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${url}`;
    const script = [
      `${holdsVip(inv.cluster.vip)} && echo yes || echo no`,
      `echo ${SEP}`,
      sh`{ grep -oE '/etc/kubernetes/[a-z-]+[.]conf' ${KUBE_VIP_MANIFEST} 2>/dev/null | head -n 1 | sed 's#.*/##' | grep .; } || echo none`,
      `echo ${SEP}`,
      sh`kubectl --kubeconfig ${ADMIN} -n kube-system get lease ${LEASE_NAME} -o ${"jsonpath={.spec.holderIdentity}"} 2>/dev/null; echo`,
      `echo ${SEP}`,
      code(`https://${host.address}:${inv.cluster.apiServerPort}/healthz`),
      `echo ${SEP}`,
      code(`https://${inv.cluster.vip}:${inv.cluster.apiServerPort}/healthz`),
      `echo ${SEP}`,
      NODES_SCRIPT,
    ].join("\n");
    return {
      key: `health:kube-vip-status:${host.name}`,
      script: `{\n${script}\n}`,
      parse(out): HostHealth {
        const p = out.split(`${SEP}\n`).map((x) => x.trim());
        const nodes = !p[5] || p[5] === "-" ? undefined : nameValuePairs(p[5]);
        const s: KubeVipStatus = {
          holdsVip: p[0] === "yes",
          kubeconfig: p[1] || "none",
          leaseHolder: p[2] ?? "",
          apiserverHealthz: p[3] || "000",
          vipHealthz: p[4] || "000",
          nodes,
        };
        return {
          line: `vip=${s.holdsVip ? "held" : "-"} kube-vip=${s.kubeconfig} apiserver=${s.apiserverHealthz} via-vip=${s.vipHealthz}`,
          data: s as unknown as Record<string, unknown>,
        };
      },
    };
  },
  verdict(rows, inv, hosts) {
    const cps = hosts.filter((h) => h.roles.includes("control-plane"));
    const data = (n: string) => rows.get(n)?.data as KubeVipStatus | undefined;
    const answered = cps.filter((h) => data(h.name));
    const holders = answered.filter((h) => data(h.name)!.holdsVip).map((h) => h.name);
    const lease = answered.map((h) => data(h.name)!.leaseHolder).find((l) => l) ?? "";
    const problems: string[] = [];
    if (holders.length !== 1)
      problems.push(
        holders.length === 0 ? "no node holds the VIP" : `the VIP is held by ${holders.join(" and ")}`,
      );
    if (!lease) problems.push(`nobody holds the lease ${LEASE_NAME}`);
    else if (holders.length === 1 && holders[0] !== lease)
      problems.push(`the lease is held by ${lease} but the VIP is on ${holders[0]}: they must agree`);
    for (const h of answered) {
      const s = data(h.name)!;
      if (s.kubeconfig === "none") problems.push(`${h.name}: no kube-vip manifest`);
      if (s.kubeconfig === "super-admin.conf")
        problems.push(`${h.name}: kube-vip still mounts super-admin.conf (run haprov up to switch it back)`);
      if (s.apiserverHealthz !== "200") problems.push(`${h.name}: API server /healthz ${s.apiserverHealthz}`);
      if (s.vipHealthz !== "200") problems.push(`${h.name}: /healthz through the VIP ${s.vipHealthz}`);
    }
    const nodes = answered.map((h) => data(h.name)!.nodes).find((n) => n);
    if (nodes)
      problems.push(
        ...nodeProblems(
          nodes,
          cps.map((h) => h.name),
        ),
      );
    const nodeText = nodesText(nodes);
    return {
      line: `VIP ${inv.cluster.vip}:${inv.cluster.apiServerPort} held by ${holders.join(", ") || "nobody"}, lease ${LEASE_NAME} held by ${lease || "nobody"}; nodes: ${nodeText}`,
      data: { vip: inv.cluster.vip, vipHolders: holders, leaseHolder: lease || null, nodes: nodes ?? null },
      problems,
    };
  },
};
