import { change, noop, skip } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import type { Fact } from "../../core/fact.js";
import type { Guard } from "../../core/guard.js";
import type { HostSpec } from "../../core/host.js";
import type { CompiledPhase } from "../../core/phase.js";
import { sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import type { BoundStep } from "../../core/step.js";
import { commandSucceeds, pathExists } from "../../facts/file-state.js";
import { filesAbsent } from "../blocks/absent.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { readingStep } from "../blocks/step.js";
import { hostView } from "../blocks/view.js";
import { etcdHealthProbe, type EtcdAccess } from "../kubeadm/etcd-members.js";
import type { RemovalInput } from "../recipe.js";
import { ETCD_DATA, ETCD_ENV, etcdAccessOf, etcdHosts, externalEtcdOf } from "./etcd.js";
import { ETCD_CA_KEY, ETCD_PKI } from "./pki.js";

/**
 * An etcd host of design E leaving (issue #21). The shared removal does the cluster's part from the
 * acting control-plane node, with its API server's etcd client pair: the quorum preflight,
 * leadership moved off NODE, `member/remove` by ID behind the quorum guard, the check that NODE is
 * no member. This file adds what is etcd's own: the CA's key must be kept by another etcd host
 * (refused before anything changes otherwise), and on NODE, once it is no member, etcd stopped for
 * good, its data moved aside (kept on NODE's disk, never deleted: a later add starts it empty, under
 * a new ID), its settings and credentials removed.
 */
const isEtcdNode = (r: RemovalInput) => r.node.spec === undefined || r.node.spec.roles.includes("etcd");

/** The acting control-plane node's way to etcd (undefined: NODE is no etcd host). */
export function externalEtcdAccess(r: RemovalInput): EtcdAccess | undefined {
  if (!isEtcdNode(r)) return undefined;
  const ext = externalEtcdOf([...r.hosts, ...(r.node.spec ? [r.node.spec] : [])]);
  return { endpoints: ext.endpoints, ca: ext.caFile, cert: ext.certFile, key: ext.keyFile };
}

/** The host keeps a non-empty copy of the etcd CA's key. */
const keepsCaKey: Fact<boolean> = {
  key: `etcd-ca-key-kept:${ETCD_CA_KEY}`,
  script: sh`test -s ${ETCD_CA_KEY}`,
  parse: (_out, code) => code === 0,
};

const CA_KEEPERS = runKey("etcdCaKeepers", "the etcd hosts that keep the etcd CA's key");

/**
 * Gated, right after the preflight: NODE does not keep the only copy of the etcd CA's key (every
 * future member's certificates are signed with it). Judged on NODE, or, when NODE is not reached,
 * on the first surviving etcd host (which can then only warn).
 */
export function caKeyKeptPhase(r: RemovalInput): CompiledPhase[] {
  if (!isEtcdNode(r)) return [];
  const survivors = etcdHosts(r.hosts);
  const node = r.node.reachable ? r.node.spec : undefined;
  const judge = node?.name ?? survivors[0]?.name;
  const hosts = [...survivors, ...(node ? [node] : [])];
  const input = { ...r, hosts };
  return [
    phase(input, {
      name: "etcd CA key kept",
      hosts,
      requires: "any",
      gate: true,
      gather: [
        gatherInto(CA_KEEPERS, (ctx) => sh`test -s ${ETCD_CA_KEY} && echo ${ctx.host.name}`, {
          otherwise: "empty",
        }),
      ],
      steps: [
        readingStep("the etcd CA's key stays in the cluster", "etcd-ca-key", [], (_facts, ctx) => {
          if (ctx.host.name !== judge) return skip(`judged on ${judge}`);
          const keepers = Object.values(hostView(input, ctx).answers(CA_KEEPERS)).filter(Boolean);
          const others = keepers.filter((n) => n !== r.node.name);
          if (others.length > 0) return noop(`the etcd CA's key stays on ${others.join(", ")}`);
          if (keepers.includes(r.node.name))
            throw new HaprovError(
              `refusing to remove ${r.node.name}: it keeps the only copy of the etcd CA's key (${ETCD_CA_KEY}), which signs every new etcd member's certificates`,
              {
                hint: `copy ${ETCD_CA_KEY} (mode 0600, owner root) to another etcd host${survivors[0] ? ` (e.g. ${survivors[0].name})` : ""}, then run again`,
              },
            );
          return {
            ...noop("no surviving etcd host keeps the etcd CA's key"),
            warnings: [
              `no surviving etcd host keeps the etcd CA's key${node ? "" : ` (${r.node.name} is not reached)`}: no new etcd member can get certificates until it is restored`,
            ],
          };
        }),
      ],
    }),
  ];
}

/** Steps on NODE once its member is gone: only while NODE takes no vote from etcd. */
export function etcdCleanup(r: RemovalInput): BoundStep[] {
  const node = r.node.spec;
  if (!node || !node.roles.includes("etcd")) return [];
  const withNode: HostSpec[] = [...r.hosts, node];
  const guard: Guard = {
    kind: "quorum",
    group: "etcd",
    member: node.name,
    effect: "remove",
    probe: etcdHealthProbe(etcdAccessOf(node, withNode)),
  };
  const enabled = commandSucceeds(
    "systemctl is-enabled --quiet etcd.service || systemctl is-active --quiet etcd.service",
  );
  const data = pathExists(ETCD_DATA);
  const caKey = pathExists(ETCD_CA_KEY);
  return [
    readingStep("etcd stopped for good", "etcd-stopped", [enabled], (facts) =>
      facts.get(enabled)
        ? change("stop, disable and mask etcd (its member was removed)", [
            {
              kind: "exec",
              command: "systemctl disable --now --quiet etcd.service && systemctl mask --quiet etcd.service",
              what: `stop etcd on ${node.name}`,
              guards: [guard],
            },
          ])
        : noop("etcd is stopped and disabled"),
    ),
    readingStep("etcd data moved aside", "etcd-data-aside", [data], (facts) =>
      facts.get(data)
        ? change(`move ${ETCD_DATA} aside (kept, not deleted)`, [
            {
              kind: "exec",
              command: `${sh`mv -- ${ETCD_DATA} ${`${ETCD_DATA}.removed-`}`}"$(date -u +%Y%m%dT%H%M%SZ)"`,
              what: `move ${node.name}'s etcd data aside`,
              guards: [guard],
            },
          ])
        : noop(`${ETCD_DATA} is gone`),
    ),
    filesAbsent("etcd settings and credentials removed", [
      ETCD_ENV,
      ...["server", "peer"].flatMap((n) => [`${ETCD_PKI}/${n}.crt`, `${ETCD_PKI}/${n}.key`]),
    ]),
    // The gate before the removal checked it already; the engine checks again right before the
    // delete, so no later change to that phase can make this the loss of the last copy.
    readingStep("etcd CA's key removed", "etcd-ca-key-removed", [caKey], (facts) =>
      facts.get(caKey)
        ? change(`remove ${ETCD_CA_KEY} (another etcd host keeps it)`, [
            {
              kind: "exec",
              command: sh`rm -f -- ${ETCD_CA_KEY}`,
              what: `delete ${node.name}'s copy of the etcd CA's key`,
              guards: [
                {
                  kind: "kept-elsewhere",
                  what: `the etcd CA's key (${ETCD_CA_KEY})`,
                  copy: keepsCaKey,
                  on: etcdHosts(r.hosts).map((h) => h.name),
                },
              ],
            },
          ])
        : noop(`${ETCD_CA_KEY} is gone`),
    ),
  ];
}
