import { change, noop, observe, skip, type Action } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import type { Fact } from "../../core/fact.js";
import { quorumRefusal, type Guard } from "../../core/guard.js";
import type { HostSpec } from "../../core/host.js";
import type { CompiledPhase } from "../../core/phase.js";
import { fragment, quote, sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import type { BoundStep } from "../../core/step.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { readingStep } from "../blocks/step.js";
import { byRole } from "../blocks/view.js";
import { steadyPhase } from "../endpoint/steady.js";
import { membershipPhase } from "../membership/phase.js";
import type { MemberSource } from "../membership/sources.js";
import type { Endpoint, NodeRemovalHooks, RemovalInput } from "../recipe.js";
import {
  etcdHealthProbe,
  etcdMembersScript,
  etcdPost,
  etcdStateFact,
  memberId,
  memberName,
  stackedEtcdAccess,
  urlHost,
  type EtcdAccess,
  type EtcdMember,
} from "./etcd-members.js";
import { KUBEADM_STATE, kubeadmState, stateText } from "./node-state.js";
import { initConfigPhase } from "./init.js";
import { ADMIN_CONF } from "./values.js";

/**
 * The surviving control-plane node that acts for the cluster in this operation: the first in
 * inventory order that has admin.conf and whose own API server answers /readyz (it drains, removes
 * the etcd member, deletes the Node). A survivor whose etcd hangs is passed over: kubectl there
 * would time out instead of saying what the cluster is.
 */
export const ACTING = runKey("actingNode", "the control-plane node that acts for the cluster");

/**
 * kubectl on the acting node, against its own API server at its own address (a name kubeadm puts
 * in the serving certificate), not through the endpoint: the operation takes NODE out of the load
 * balancer's rotation, and a request through it could land on NODE's API server or a hung one.
 */
function kubectl(ctx: { host: HostSpec }, port: number): string {
  return `kubectl --kubeconfig ${ADMIN_CONF} --server ${quote(apiUrl(ctx.host, port))}`;
}

const apiUrl = (h: HostSpec, port: number) => `https://${h.address}:${port}`;
const DRAIN_TIMEOUT_S = 120;

/** What the operation needs from its mode besides the hooks. */
export interface RemovalSpec {
  hooks: NodeRemovalHooks;
  /** Where this host's view of the membership is read (the recipe's `members`). */
  members(h: HostSpec): MemberSource[];
  /** The operator's endpoint: answering steadily through it ends the operation. */
  endpoint: Endpoint;
}

/**
 * `haprov node remove NODE` (issue #21), the phases in order, for every mode: nothing on NODE stops
 * before it is out of rotation, its etcd member leaves from a survivor behind the quorum guard,
 * its reset runs only once it is no voting member (the guard again), and the operation ends only
 * when NODE is in no membership and the endpoint answers steadily. Every step reads its state
 * first, so running the same removal again finishes what an interrupted one left.
 */
export function nodeRemovalPhases(r: RemovalInput, spec: RemovalSpec): CompiledPhase[] {
  const cps = byRole(r.hosts, "control-plane");
  if (cps.length === 0)
    throw new HaprovError(
      `${r.node.name} is the last control-plane node of the inventory: removing it would end the cluster, not shrink it`,
      { hint: "add another control-plane node first (haprov up), then remove this one" },
    );
  const nodeHost = r.node.reachable ? r.node.spec : undefined;
  const withNode = nodeHost ? [...r.hosts, nodeHost] : r.hosts;
  const stacked = spec.hooks.stackedEtcd;
  // NODE's etcd member, stacked (kubeadm's) or in the mode's external cluster; none: no etcd part
  const access: EtcdAccess | undefined = stacked
    ? stackedEtcdAccess([...cps.map((h) => h.address), ...(r.node.spec ? [r.node.spec.address] : [])])
    : spec.hooks.externalEtcd?.(r);
  const onActing = (steps: BoundStep[]) => steps.map((s) => actingOnly(s));
  const port = r.inventory.cluster.apiServerPort;
  const phases: CompiledPhase[] = [
    membershipPhase({ ...r, hosts: withNode }, spec.members, { leaving: r.node.name }),
    phase(r, {
      name: "removal preflight",
      hosts: cps,
      requires: "any",
      gate: true,
      gather: [
        gatherInto(
          ACTING,
          (ctx) =>
            sh`test -f ${ADMIN_CONF} && curl -sfk --max-time 2 -o /dev/null ${`${apiUrl(ctx.host, port)}/readyz`} && echo ${ctx.host.name}`,
          { otherwise: "empty" },
        ),
      ],
      steps: onActing([preflightStep(r, access, port)]),
    }),
    ...(spec.hooks.preflight?.(r) ?? []),
    ...spec.hooks.outOfRotation(r),
    phase(r, {
      name: "drain",
      hosts: cps,
      requires: "any",
      steps: onActing([drainStep(r, port)]),
    }),
    ...(access
      ? [
          phase(r, {
            name: "leave etcd",
            hosts: cps,
            requires: "any",
            steps: onActing([etcdLeaveStep(r, access)]),
          }),
        ]
      : []),
    ...(nodeHost
      ? [
          phase(
            { ...r, hosts: withNode },
            {
              name: "reset node",
              hosts: [nodeHost],
              steps: [
                resetStep(r, stacked ? access : undefined),
                loginKubeconfigRemoved(r, spec.endpoint),
                ...spec.hooks.cleanup(r),
              ],
            },
          ),
        ]
      : []),
    phase(r, {
      name: "delete node",
      hosts: cps,
      requires: "any",
      steps: onActing([
        deleteNodeStep(r, port),
        ...(spec.hooks.leave?.(r) ?? []),
        verifyStep(r, access, port),
      ]),
    }),
    ...(spec.hooks.settle?.(r) ?? []),
    initConfigPhase(r, spec.hooks.kubeadm(r)),
    steadyPhase(r, spec.endpoint),
  ];
  return phases;
}

/** The step on the acting node only; the other survivors say who acts. */
export function actingOnly(s: BoundStep): BoundStep {
  return {
    ...s,
    facts: (ctx) => s.facts(ctx),
    plan(facts, ctx) {
      const acting = ctx.scope.registered[ACTING.name];
      if (acting === "")
        throw new HaprovError(
          "no surviving control-plane node has /etc/kubernetes/admin.conf and an API server that answers /readyz at its own address: there is no working cluster to remove the node from",
          { hint: "haprov status shows which API servers and etcd members answer" },
        );
      if (acting !== undefined && acting !== ctx.host.name) return skip(`${acting} acts for the cluster`);
      return s.plan(facts, ctx);
    },
  };
}

/** NODE's etcd member: by name (kubeadm names members after their node) or by peer address. */
function memberOf(r: RemovalInput, members: EtcdMember[]): EtcdMember | undefined {
  return members.find(
    (m) =>
      m.name === r.node.name ||
      (r.node.spec !== undefined && m.peerUrls.some((u) => urlHost(u) === r.node.spec!.address)),
  );
}

/** Whether NODE is a Node of the cluster, read with kubectl on the acting node. */
function nodeFact(
  name: string,
  kubectlLine: string,
): Fact<{ exists: boolean; cordoned: boolean; error?: string }> {
  return {
    key: `node-object:${name}:${kubectlLine}`,
    script: [
      `o=$(${kubectlLine} get node ${quote(name)} -o 'jsonpath={.spec.unschedulable}' 2>&1); c=$?`,
      `if [ "$c" -eq 0 ]; then echo "NODE $o"; elif printf '%s' "$o" | grep -q NotFound; then echo ABSENT; else echo "ERROR $o"; fi`,
    ].join("\n"),
    parse: (out) => {
      const t = out.trim();
      if (t.startsWith("NODE")) return { exists: true, cordoned: t.slice(4).trim() === "true" };
      if (t === "ABSENT") return { exists: false, cordoned: false };
      return { exists: false, cordoned: false, error: t.replace(/^ERROR /, "") || "kubectl printed nothing" };
    },
  };
}

/** The Node fact as the acting node reads it, through its own API server. */
const nodeOnActing = (name: string, port: number) => (ctx: { host: HostSpec }) =>
  nodeFact(name, kubectl(ctx, port));

function knownNode(facts: { get<T>(f: Fact<T>): T }, f: ReturnType<typeof nodeFact>) {
  const n = facts.get(f);
  if (n.error) throw new HaprovError(`could not read the Node from the cluster: ${n.error}`);
  return n;
}

/**
 * The checks before anything changes: NODE is not the last control-plane member, and removing its
 * etcd member leaves a healthy majority (an even count left is allowed, with a warning: it
 * tolerates no more failures than one member fewer). What NODE holds is said.
 */
function preflightStep(r: RemovalInput, access: EtcdAccess | undefined, port: number): BoundStep {
  const etcd = access ? etcdStateFact(access) : undefined;
  const node = nodeOnActing(r.node.name, port);
  return readingStep(
    `${r.node.name} can leave`,
    "removal-preflight",
    (ctx) => [node(ctx), ...(etcd ? [etcd] : [])],
    (facts, ctx) => {
      const parts: string[] = [];
      const warnings: string[] = [];
      // the quorum first: a refusal says why, whatever else could not be read
      if (etcd) {
        const s = facts.get(etcd);
        if (!s.members)
          throw new HaprovError(
            "no etcd member answered from the acting control-plane node: the quorum cannot be shown, so nothing is removed",
          );
        const me = memberOf(r, s.members);
        if (me) {
          const health = s.members.map((m) => ({
            name: memberName(m),
            address: urlHost(m.peerUrls[0] ?? ""),
            voter: !m.learner,
            healthy: m.healthy === true,
            ...(m.healthy ? {} : { detail: "no healthy answer in 2 s" }),
          }));
          const refusal = quorumRefusal("etcd", health, memberName(me), "remove");
          if (refusal)
            throw new HaprovError(`refusing to remove ${r.node.name}: ${refusal}`, {
              hint: "bring the unhealthy members back first (haprov status shows them); for a majority lost for good, see haprov recover",
            });
          const left = s.members.filter((m) => m !== me && !m.learner).length;
          parts.push(
            `${r.node.name} is an etcd member${s.leader === me.id ? " and the etcd leader (leadership moves first)" : ""}; ${left} member(s) stay, all healthy`,
          );
          if (left % 2 === 0)
            warnings.push(
              `removing ${r.node.name} leaves ${left} etcd members: an even count tolerates no more failures than ${left - 1}`,
            );
        } else parts.push(`${r.node.name} is no etcd member`);
      }
      const n = knownNode(facts, node(ctx));
      parts.unshift(
        n.exists ? `${r.node.name} is a Node${n.cordoned ? " (cordoned)" : ""}` : `no Node ${r.node.name}`,
      );
      if (!r.node.reachable)
        warnings.push(
          `${r.node.name} is not reached (--unreachable): wipe it before it is ever started again, or its services could take the VIP back`,
        );
      return { ...noop(parts.join("; ")), warnings };
    },
  );
}

/**
 * `kubectl drain`: cordoned, its pods evicted (DaemonSet pods stay, as everywhere), with a timeout;
 * what blocks (a PodDisruptionBudget) is in kubectl's error. A NODE that is not reached is only
 * cordoned: evictions on a dead kubelet never finish, and deleting the Node removes its pods.
 */
function drainStep(r: RemovalInput, port: number): BoundStep {
  const node = nodeOnActing(r.node.name, port);
  return readingStep(
    `drain ${r.node.name}`,
    "kubectl-drain",
    (ctx) => [node(ctx)],
    (facts, ctx) => {
      const n = knownNode(facts, node(ctx));
      const kc = fragment(kubectl(ctx, port));
      if (!n.exists) return noop(`no Node ${r.node.name} in the cluster`);
      if (!r.node.reachable)
        return n.cordoned
          ? noop(
              `${r.node.name} is cordoned; not drained: it is not reached, and its Node's deletion removes its pods`,
            )
          : change(`cordon ${r.node.name} (not drained: it is not reached)`, [
              { kind: "exec", command: sh`${kc} cordon ${r.node.name}` },
            ]);
      return change(
        `cordon ${r.node.name} and evict its pods (DaemonSet pods stay; up to ${DRAIN_TIMEOUT_S}s)`,
        [
          {
            kind: "exec",
            command: sh`${kc} drain ${r.node.name} --ignore-daemonsets --delete-emptydir-data --timeout=${`${DRAIN_TIMEOUT_S}s`}`,
            timeoutMs: (DRAIN_TIMEOUT_S + 30) * 1000,
          },
        ],
      );
    },
  );
}

/**
 * NODE's etcd member leaves, from the acting survivor: leadership moved to a healthy survivor
 * first when NODE leads (a removal of the leader costs an election), then `member remove` by ID —
 * run only when the engine finds the others keep a healthy majority without it.
 */
function etcdLeaveStep(r: RemovalInput, access: EtcdAccess): BoundStep {
  const etcd = etcdStateFact(access);
  return readingStep(`${r.node.name}'s etcd member removed`, "etcd-member-remove", [etcd], (facts, ctx) => {
    const s = facts.get(etcd);
    if (!s.members) throw new HaprovError("no etcd member answered: the member list cannot be read");
    const me = memberOf(r, s.members);
    if (!me) return noop(`${r.node.name} is no etcd member`);
    const guard: Guard = {
      kind: "quorum",
      group: "etcd",
      member: memberName(me),
      effect: "remove",
      probe: etcdHealthProbe(access),
    };
    const actions: Action[] = [];
    if (s.leader === me.id) {
      const target = s.members.find((m) => m !== me && !m.learner && m.healthy);
      const leaderUrl = me.clientUrls[0];
      if (target && leaderUrl)
        actions.push({
          kind: "exec",
          command: etcdPost(access, `${leaderUrl}/v3/maintenance/transfer-leadership`, {
            targetID: memberId(target.id),
          }),
          what: `move etcd leadership to ${memberName(target)}`,
        });
    }
    actions.push({
      kind: "exec",
      command: etcdPost(access, `${access.endpoints[0]!}/v3/cluster/member/remove`, { ID: memberId(me.id) }),
      what: `remove ${r.node.name}'s etcd member`,
      guards: [guard],
    });
    return change(
      `${s.leader === me.id ? "move etcd leadership off it, then " : ""}remove member ${me.id} (${memberName(me)}) from etcd, from ${ctx.host.name}`,
      actions,
    );
  });
}

/**
 * `kubeadm reset` on NODE, its etcd member already gone (`--skip-phases remove-etcd-member`: the
 * removal is not run twice). Guarded: only once NODE takes no vote from etcd, checked live from the
 * acting node right before — its data is wiped.
 */
function resetStep(r: RemovalInput, access: EtcdAccess | undefined): BoundStep {
  const stacked = access !== undefined;
  const state = kubeadmState(stacked);
  return readingStep("kubeadm reset", "kubeadm-reset", [state], (facts, ctx) => {
    const found = facts.get(state);
    if (found.length === 0) return noop(`${r.node.name} has no ${KUBEADM_STATE} left`);
    const acting = ctx.scope.registered[ACTING.name];
    return change(`reset ${r.node.name} (it has ${stateText(found)})`, [
      {
        kind: "exec",
        command: "kubeadm reset -f --skip-phases remove-etcd-member >/dev/null",
        what: "kubeadm reset",
        timeoutMs: 300_000,
        guards: access
          ? [
              {
                kind: "quorum",
                group: "etcd",
                member: r.node.name,
                effect: "remove",
                probe: etcdHealthProbe(access),
                ...(acting ? { on: acting } : {}),
              },
            ]
          : [],
      },
    ]);
  });
}

/**
 * The login user's copy of admin.conf (written by the join) goes too: a removed node keeps no
 * credentials of the cluster. Only a file that points at this cluster's endpoint.
 */
function loginKubeconfigRemoved(r: RemovalInput, e: Endpoint): BoundStep {
  const user = r.node.spec?.ssh.user ?? "root";
  const server = `server: https://${e.host}:${e.port}`;
  const find = sh`h=$(getent passwd ${user} | cut -d: -f6) && f="$h/.kube/config" && grep -qsF ${server} "$f"`;
  const present: Fact<boolean> = {
    key: `login-kubeconfig:${user}:${server}`,
    script: `if ${find}; then echo yes; fi; true`,
    parse: (out) => out.trim() === "yes",
  };
  return readingStep("login user's kubeconfig removed", "file-absent", [present], (facts) =>
    facts.get(present)
      ? change(`remove ~${user}/.kube/config (the cluster's admin credentials)`, [
          { kind: "exec", command: `${find} && rm -f -- "$f"` },
        ])
      : noop(`~${user}/.kube/config holds no credentials of this cluster`),
  );
}

function deleteNodeStep(r: RemovalInput, port: number): BoundStep {
  const node = nodeOnActing(r.node.name, port);
  return readingStep(
    `Node ${r.node.name} deleted`,
    "kubectl-delete-node",
    (ctx) => [node(ctx)],
    (facts, ctx) => {
      const n = knownNode(facts, node(ctx));
      const kc = fragment(kubectl(ctx, port));
      if (!n.exists) return noop(`no Node ${r.node.name} in the cluster`);
      return change(`kubectl delete node ${r.node.name} (kubeadm reset keeps it)`, [
        {
          kind: "exec",
          command: sh`${kc} delete node ${r.node.name} --ignore-not-found >/dev/null`,
        },
      ]);
    },
  );
}

/** The end of the removal, checked live: NODE is no etcd member and no Node. */
function verifyStep(r: RemovalInput, access: EtcdAccess | undefined, port: number): BoundStep {
  const peer = r.node.spec ? `https://${r.node.spec.address}:2380` : undefined;
  const checks = (ctx: { host: HostSpec }) => [
    `if ${kubectl(ctx, port)} get node ${quote(r.node.name)} >/dev/null 2>&1; then echo ${quote(`the Node ${r.node.name} still exists`)} >&2; exit 1; fi`,
    ...(access
      ? [
          `l=$(${etcdMembersScript(access, { health: false })})`,
          `case "$l" in *${quote(`"name":"${r.node.name}"`)}*${peer ? `|*${quote(peer)}*` : ""}) echo ${quote(`${r.node.name} is still an etcd member`)} >&2; exit 1;; "LIST ") echo 'no etcd member answered' >&2; exit 1;; esac`,
        ]
      : []),
  ];
  return {
    name: `${r.node.name} is in no membership`,
    type: "removal-verify",
    notify: [],
    facts: () => [],
    files: () => [],
    plan: (_facts, ctx) =>
      observe(`check that ${r.node.name} is no Node${access ? " and no etcd member" : ""} any more`, [
        { kind: "exec", command: checks(ctx).join("\n") },
      ]),
  };
}
