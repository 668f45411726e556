import { change, noop } from "../../core/action.js";
import type { Fact } from "../../core/fact.js";
import type { MemberHealth } from "../../core/guard.js";
import { quote, sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { filesAbsent } from "../blocks/absent.js";
import { phase } from "../blocks/phase.js";
import { byRole } from "../blocks/view.js";
import { actingOnly } from "../kubeadm/remove-node.js";
import type { NodeRemovalHooks, RemovalInput } from "../recipe.js";
import { vipGatePhase } from "../vip/gate.js";
import { serviceGone } from "../vip/remove.js";
import { controlPlaneKubeadmOptions } from "../vip/control-plane-lb.js";
import { vipEndpoint } from "../vip/rules.js";
import { COROSYNC_NODES } from "../membership/sources.js";
import { findAll, nvpairs } from "./xml.js";
import { parseCrmMon } from "./status.js";
import { stackPhase } from "./stack.js";
import { cibFact, passwordFile } from "./values.js";

/** NODE as Pacemaker sees it: not a node of it, or a node and whether it is in standby. */
function pcmkNode(node: string): Fact<{ member: boolean; standby: boolean }> {
  return {
    key: `pcmk-node:${node}`,
    script: [
      `if ${COROSYNC_NODES} | grep -qx ${quote(node)}; then`,
      `  echo "MEMBER $(crm_attribute -N ${quote(node)} -n standby -G -q -l forever 2>/dev/null)"`,
      "else echo NONE; fi",
    ].join("\n"),
    parse: (out) => {
      const t = out.trim();
      return { member: t.startsWith("MEMBER"), standby: /^MEMBER\s+(on|true|yes|1)$/i.test(t) };
    },
  };
}

/** The Pacemaker nodes and whether each is online, as this node's `crm_mon` sees them. */
export const corosyncHealth: Fact<MemberHealth[]> = {
  key: "corosync-health",
  script: "crm_mon -1 --output-as=xml 2>/dev/null",
  parse: (out) => {
    const v = parseCrmMon(out, false);
    return [
      ...v.online.map((name) => ({ name, healthy: true })),
      ...v.offline.map((name) => ({ name, healthy: false, detail: "offline" })),
    ];
  },
};

/**
 * Out of rotation, Pacemaker's way: NODE put in standby by the acting survivor (`--wait`: its VIP
 * and haproxy instance stopped there and started elsewhere before pcs returns).
 */
function standbyStep(r: RemovalInput): BoundStep {
  const f = pcmkNode(r.node.name);
  return {
    name: `${r.node.name} in standby`,
    type: "pcs-node-standby",
    notify: [],
    facts: () => [f],
    files: () => [],
    plan(facts) {
      const n = facts.get(f);
      if (!n.member) return noop(`${r.node.name} is no Pacemaker node`);
      if (n.standby) return noop(`${r.node.name} is in standby: Pacemaker runs nothing on it`);
      return change(`put ${r.node.name} in standby: Pacemaker moves the VIP and haproxy off it`, [
        { kind: "exec", command: sh`pcs node standby ${r.node.name} --wait=120`, timeoutMs: 180_000 },
      ]);
    },
  };
}

/**
 * NODE leaves the Pacemaker cluster: its fence devices deleted (the inventory's for NODE and any
 * live one whose pcmk_host_list is NODE), then `pcs cluster node remove` — which also stops and
 * destroys the cluster on NODE when it answers (`--skip-offline --force` when it is not reached,
 * behind haprov's own corosync quorum guard).
 */
function leaveStep(r: RemovalInput): BoundStep {
  const f = pcmkNode(r.node.name);
  return {
    name: `${r.node.name} out of the Pacemaker cluster`,
    type: "pcs-node-remove",
    notify: [],
    facts: () => [f, cibFact],
    files: () => [],
    plan(facts) {
      const fences = findAll(facts.get(cibFact), "primitive")
        .filter(
          (p) =>
            p.attrs.class === "stonith" && nvpairs(p, "instance_attributes").pcmk_host_list === r.node.name,
        )
        .map((p) => p.attrs.id!);
      const member = facts.get(f).member;
      if (!member && fences.length === 0) return noop(`${r.node.name} is no Pacemaker node`);
      return change(
        [
          ...(fences.length ? [`delete its fence device(s) ${fences.join(", ")}`] : []),
          ...(member ? [`pcs cluster node remove ${r.node.name}`] : []),
        ].join(", then "),
        [
          ...fences.map((id) => ({ kind: "exec" as const, command: sh`pcs stonith delete ${id}` })),
          ...(member
            ? [
                {
                  kind: "exec" as const,
                  // NODE not reached: --skip-offline, or pcs refuses to go on without it; and pcs
                  // asks the nodes it removes for their quorum view, which a dead one cannot give
                  // ("unable to determine whether removing the nodes will cause a loss of the
                  // quorum", an error without --force) — the guard below, read live on the acting
                  // survivor, is haprov's own answer to that question.
                  command:
                    sh`pcs cluster node remove ${r.node.name}` +
                    (r.node.reachable ? "" : " --skip-offline --force"),
                  what: `remove ${r.node.name} from the Pacemaker cluster`,
                  guards: [
                    {
                      kind: "quorum" as const,
                      group: "corosync",
                      member: r.node.name,
                      effect: "remove" as const,
                      probe: corosyncHealth,
                    },
                  ],
                  timeoutMs: 180_000,
                },
              ]
            : []),
        ],
      );
    },
  };
}

/** How long a survivor's corosync may keep NODE in its node list before it is an error. */
const SETTLE_S = 30;

/**
 * Each survivor's own corosync (what the next up's membership check reads) without NODE: pcs
 * rewrites corosync.conf everywhere and reloads it; this checks that it reached every survivor,
 * and fails by name when one still lists NODE after 30 s.
 */
function settleStep(r: RemovalInput): BoundStep {
  const f = pcmkNode(r.node.name);
  const listed = `${COROSYNC_NODES} | grep -qx ${quote(r.node.name)}`;
  return {
    name: `${r.node.name} gone from corosync's node list here`,
    type: "pcs-node-settle",
    notify: [],
    facts: () => [f],
    files: () => [],
    plan(facts, ctx) {
      if (!facts.get(f).member) return noop(`${ctx.host.name}'s corosync lists no ${r.node.name}`);
      return change(`wait until ${ctx.host.name}'s corosync drops ${r.node.name}`, [
        {
          kind: "exec",
          command: [
            "i=0",
            `while ${listed}; do`,
            "  i=$((i+1))",
            `  if [ "$i" -ge ${SETTLE_S * 4} ]; then echo ${quote(`${ctx.host.name}'s corosync still lists ${r.node.name} after ${SETTLE_S} s`)} >&2; exit 1; fi`,
            "  sleep 0.25",
            "done",
          ].join("\n"),
          timeoutMs: (SETTLE_S + 15) * 1000,
        },
      ]);
    },
  };
}

export const pacemakerRemoval: NodeRemovalHooks = {
  stackedEtcd: true,
  kubeadm: controlPlaneKubeadmOptions,
  outOfRotation(r) {
    const cps = byRole(r.hosts, "control-plane");
    return [
      // the survivors' haproxy without NODE (rolling, the VIP holder last)
      stackPhase(r, cps),
      phase(r, {
        name: "vip off the node",
        hosts: cps,
        requires: "any",
        steps: [actingOnly(standbyStep(r))],
      }),
      vipGatePhase(r, cps, vipEndpoint(r.inventory), "control-plane node"),
    ];
  },
  cleanup: (r) => [
    serviceGone(r, "haproxy"),
    filesAbsent("haproxy config and the hacluster password removed", [
      "/etc/haproxy/haproxy.cfg",
      "/etc/systemd/system/haproxy.service.d/50-haprov-pacemaker.conf",
      passwordFile(r.inventory.cluster.name),
    ]),
  ],
  leave: (r) => [leaveStep(r)],
  settle: (r) => [
    phase(r, {
      name: "pacemaker settled",
      hosts: byRole(r.hosts, "control-plane"),
      steps: [settleStep(r)],
    }),
  ],
};
