import { change, noop, skip, type Action } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import type { Guard } from "../../core/guard.js";
import type { HostSpec } from "../../core/host.js";
import { commandSucceeds } from "../../facts/file-state.js";
import { commandStep } from "../../steps/command.js";
import { waitStep } from "../../steps/wait.js";
import { when } from "../blocks/condition.js";
import { phase } from "../blocks/phase.js";
import { readingStep, stepsOf } from "../blocks/step.js";
import { hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { etcdHealthProbe, etcdPost, etcdStateFact, memberId } from "../kubeadm/etcd-members.js";
import {
  clientUrl,
  ETCD_BOOTSTRAPPED,
  etcdAccessOf,
  etcdctl,
  etcdHosts,
  joining,
  peerUrl,
  readMemberList,
} from "./etcd.js";

/**
 * An etcd host without data joining a cluster whose other members have theirs (issue #21): a host
 * added to the inventory, a member restarted after its data was lost, a member a failed run added
 * but never started. One host at a time, in inventory order: each is added to the member list
 * (`member/add`, behind the quorum guard: the new voter counts before it answers) and started with
 * `initial-cluster-state existing` and the member list as it then is (etcd refuses an initial
 * cluster whose count differs from the list's), and is healthy before the next one is added.
 *
 * A member whose data was wiped is removed and added again, never started under its old ID: with
 * an empty log it would vote as if it had acknowledged entries it no longer has (etcd's runtime
 * reconfiguration guide, "replace a non-recoverable member").
 *
 * The phase runs between the members' files and the cluster's start.
 */
export function etcdJoinPhase(input: RecipeInput) {
  const step = stepsOf(input);
  return phase(input, {
    name: "etcd members added",
    hosts: etcdHosts(input.hosts),
    serial: 1,
    steps: [
      memberAddStep(input),
      step({
        name: "new etcd member started",
        type: commandStep,
        when: isJoining,
        params: () => ({
          run: "systemctl unmask etcd.service >/dev/null 2>&1; systemctl enable --quiet etcd.service && systemctl start --no-block etcd.service",
          unless: "systemctl is-active --quiet etcd.service",
          secret: false,
        }),
      }),
      step({
        name: "new etcd member healthy",
        type: waitStep,
        when: isJoining,
        params: (v) => ({
          until: `${etcdctl([clientUrl(v.host)])} endpoint health >/dev/null 2>&1`,
          what: `${v.host.name}'s etcd member answers healthy`,
          timeoutSec: 120,
        }),
      }),
    ],
  });
}

/** Why this host does not join a running cluster (undefined: it does). */
const notJoining = (v: HostView) =>
  joining(v)
    ? undefined
    : `${v.host.name} ${v.own(ETCD_BOOTSTRAPPED) ? "has its data" : "bootstraps with the others"}`;

const isJoining = when(notJoining);

const RUNNING = commandSucceeds("systemctl is-active --quiet etcd.service");

/** The member add (a wiped member's old entry removed first), run on the joining host itself. */
function memberAddStep(input: RecipeInput) {
  const access = (h: HostSpec) => etcdAccessOf(h, input.hosts);
  return readingStep(
    "etcd member added",
    "etcd-member-add",
    // Asked only of a joining host: every etcd host reading every member's health on each `up`
    // would be work for nothing. (Not known in the run's first read, so not asked there.)
    (ctx) => (joining(hostView(input, ctx)) ? [etcdStateFact(access(ctx.host)), RUNNING] : []),
    (facts, ctx) => {
      const v = hostView(input, ctx);
      const why = notJoining(v);
      if (why !== undefined) return skip(why);
      const a = access(ctx.host);
      const s = facts.get(etcdStateFact(a));
      // Before this run has issued the host's certificate (plan), it cannot ask etcd itself: the
      // list a member with data read at the start stands in (without health: nothing is run then)
      const members = s.members ?? readMemberList(v);
      if (!members)
        throw new HaprovError(
          `${v.host.name} joins the etcd cluster, but no member answered at ${a.endpoints.slice(1).join(", ")}: the member list cannot be read`,
          { hint: "haprov status shows which etcd members answer" },
        );
      const url = peerUrl(v.host);
      const mine = members.find((m) => m.peerUrls.includes(url));
      if (mine && !mine.name)
        return noop(
          `${v.host.name} is in the member list already (added by an earlier run, not started yet)`,
        );
      const name = v.host.name;
      // a member that answers, to take the request (this host's own is not running)
      const via = members.find((m) => m !== mine && m.clientUrls[0] && (m.healthy ?? true))?.clientUrls[0];
      if (!via)
        throw new HaprovError(`${name} joins the etcd cluster, but no member answers healthy to add it`);
      const actions: Action[] = [];
      if (mine) {
        // started once (it has a name), but this host has no data: that member's log is gone
        if (facts.get(RUNNING))
          throw new HaprovError(
            `etcd runs on ${name}, but its data directory is gone: stop etcd on ${name} and run again (its member is then removed and added again, under a new ID)`,
          );
        const guard: Guard = {
          kind: "quorum",
          group: "etcd",
          member: mine.name,
          effect: "remove",
          probe: etcdHealthProbe(a),
        };
        actions.push({
          kind: "exec",
          command: etcdPost(a, `${via}/v3/cluster/member/remove`, { ID: memberId(mine.id) }),
          what: `remove ${name}'s old etcd member ${mine.id}, whose data is gone`,
          guards: [guard],
        });
      }
      actions.push({
        kind: "exec",
        command: etcdPost(
          a,
          `${via}/v3/cluster/member/add`,
          { peerURLs: [url] },
          // etcd's own check right after the previous member joined: its leader must have been
          // connected to every voter for 5 s (isConnectedFullySince)
          { notYet: "unhealthy cluster", waitSec: 30 },
        ),
        what: `add ${name} to etcd`,
        guards: [{ kind: "quorum", group: "etcd", member: name, effect: "add", probe: etcdHealthProbe(a) }],
      });
      return change(
        mine
          ? `${name} has no data but etcd lists its member ${mine.id}: remove that member, then add ${name} again (${url})`
          : `add ${name} (${url}) to the etcd cluster of ${members.length} member(s)`,
        actions,
      );
    },
  );
}
