import { noop, skip } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import type { HostSpec } from "../../core/host.js";
import type { CompiledPhase } from "../../core/phase.js";
import { runKey } from "../../core/run-key.js";
import { ifKnown, type BoundStep } from "../../core/step.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { membershipScript, type MemberSource } from "./sources.js";
import { membershipNotes, membershipProblems, membershipVerdict, type MembershipView } from "./verdict.js";

/** Each host's raw membership read (sources.ts). */
export const MEMBERSHIP = runKey("membership", "what each host says the cluster's members are");
/** The verdict on it (a MembershipView as JSON), for the steps that decide on membership (join). */
export const CLUSTER_VIEW = runKey("clusterView", "the cluster's members as its hosts report them");

/** The cluster's members as this run found them before changing anything (undefined: not read). */
export function clusterView(v: HostView): MembershipView | undefined {
  const json = ifKnown(() => v.get(CLUSTER_VIEW));
  return json ? (JSON.parse(json) as MembershipView) : undefined;
}

/**
 * The first phase of every recipe run (issue #19): the cluster's real membership read from the
 * hosts in the run's first round trip, against the inventory. A member of the running cluster
 * that is not in the inventory stops the run before any change (`gate`): a rerun must never
 * rewrite the VIP layer or etcd's membership behind a host it cannot see. Hosts still to join and
 * stale names in haprov's own configs are said, not refused.
 */
export function membershipPhase(
  input: RecipeInput,
  sourcesOf: (h: HostSpec) => MemberSource[],
  o: { leaving?: string } = {},
): CompiledPhase {
  const hosts = input.hosts.filter((h) => sourcesOf(h).length > 0);
  return phase(input, {
    name: "cluster membership",
    hosts,
    gate: true,
    gather: [gatherInto(MEMBERSHIP, (ctx) => membershipScript(sourcesOf(ctx.host)), { otherwise: "empty" })],
    steps: [membershipStep(input, sourcesOf, o.leaving)],
  });
}

/**
 * `leaving`: the node a removal takes out (issue #21) — a member of the running cluster that is
 * expected, even when it is no longer in the inventory.
 */
function membershipStep(
  input: RecipeInput,
  sourcesOf: (h: HostSpec) => MemberSource[],
  leaving?: string,
): BoundStep {
  return {
    name: "members are in the inventory",
    type: "membership",
    notify: [],
    facts: () => [],
    files: () => [],
    plan(_facts, ctx) {
      const v = hostView(input, ctx);
      const answers = v.answers(MEMBERSHIP);
      const speaker = Object.keys(answers)[0];
      if (speaker !== v.host.name) return skip(`${speaker} reports the cluster's membership`);
      const known =
        leaving && !input.hosts.some((h) => h.name === leaving)
          ? [
              ...input.hosts,
              { ...input.hosts[0]!, name: leaving, address: "(not in the inventory)", roles: [] },
            ]
          : input.hosts;
      const view = membershipVerdict(answers, sourcesOf, known);
      const problems = membershipProblems(view);
      const notes = membershipNotes(view);
      if (problems.length > 0)
        throw new HaprovError(
          `refusing to change the cluster: ${problems.join("; ")}${notes.length ? `; also: ${notes.join("; ")}` : ""}`,
        );
      const produces = [{ name: CLUSTER_VIEW.name, value: JSON.stringify(view), secret: false }];
      if (!view.known) return noop(["no cluster yet", ...notes].join("; "), produces);
      const summary = `every member is in the inventory (Nodes: ${view.nodes.join(", ") || "none"}; etcd: ${view.etcd.join(", ") || "not read"})`;
      return noop([summary, ...notes].join("; "), produces);
    },
  };
}
