import type { Fact } from "./fact.js";

/**
 * The precondition of a destructive action (a reset, a member removal, a stop of etcd or of an API
 * server), declared by the step that plans it and checked by the engine right before the action
 * runs (issue #19). Never a `|| cleanup` tail on a shell line: a guard the engine cannot check
 * refuses. `plan` prints it (describeGuard) next to the action.
 */
export type Guard =
  | {
      /**
       * The acting host had none of `state` when the run began (read in the run's first round
       * trip, before anything changed): what is undone is only what this run itself made.
       */
      kind: "fresh-at-start";
      /** The state, in words ("Kubernetes state"). */
      what: string;
      /** Lists what of that state a host has; empty when it has none. */
      state: Fact<string[]>;
    }
  | {
      /**
       * The members that stay healthy after the action are a majority of the members left: no
       * step may break the quorum of `group`.
       */
      kind: "quorum";
      /** The quorum group, in words ("etcd"). */
      group: string;
      /** The member the action takes away (or, for `add`, brings in). */
      member: string;
      /**
       * `remove`: it leaves the group (the group shrinks); `stop`: it stops answering for a while;
       * `add`: it joins as a voter that does not answer yet (the group grows, the majority with it).
       */
      effect: "remove" | "stop" | "add";
      /** Every member and its health, read live right before the action. */
      probe: Fact<MemberHealth[]>;
      /** The host the probe runs on (default: the host the action acts on). */
      on?: string;
      /**
       * Read on the acting host first: false means the action takes nothing away (the member is
       * not running, so a restart stops nothing) and the guard holds without the probe.
       */
      matters?: Fact<boolean>;
    }
  | {
      /**
       * Another host keeps a copy of what the action deletes (the etcd CA's key): at least one of
       * `on` answers `copy` true, read live right before the action. None connected: refused.
       */
      kind: "kept-elsewhere";
      /** What is deleted, in words ("the etcd CA's key"). */
      what: string;
      /** True when the host it is read on keeps its own copy. */
      copy: Fact<boolean>;
      /** The hosts whose copy counts (the acting host's own never does). */
      on: string[];
    };

export interface MemberHealth {
  name: string;
  /** The member's address, when known: a guard's `member` matches its name or address. */
  address?: string;
  /** false: a learner (etcd), which does not count towards the quorum. Default true. */
  voter?: boolean;
  healthy: boolean;
  /** Why it is unhealthy, in words ("no answer in 2 s"). */
  detail?: string;
}

/** The guard as `plan` shows it: "only if …". */
export function describeGuard(g: Guard, host: string): string {
  switch (g.kind) {
    case "fresh-at-start":
      return `only if ${host} had no ${g.what} when the run began`;
    case "quorum":
      return g.effect === "add"
        ? `only while ${g.group} keeps a healthy majority with ${g.member} added and not yet started`
        : `only while ${g.group} keeps a healthy majority without ${g.member}`;
    case "kept-elsewhere":
      return `only while one of ${g.on.filter((h) => h !== host).join(", ") || "no other host"} keeps ${g.what}`;
  }
}

/**
 * Why `effect` on `member` would break the group's quorum, or undefined when a healthy majority
 * stays: after a removal the group is one smaller; during a stop the member still counts but does
 * not answer; after an add the group is one larger and the new member does not answer until it
 * has started. An unknown member list (the probe found none) refuses: quorum cannot be shown.
 */
export function quorumRefusal(
  group: string,
  members: MemberHealth[],
  member: string,
  effect: "remove" | "stop" | "add",
): string | undefined {
  if (members.length === 0) return `the ${group} members could not be read, so the quorum cannot be shown`;
  const voters = members.filter((m) => m.voter !== false);
  const self = (m: MemberHealth) => m.name === member || m.address === member;
  // A learner (or a member not in the list) takes no vote away, whatever happens to it.
  if (effect !== "add" && !voters.some(self)) return undefined;
  const others = voters.filter((m) => !self(m));
  const size = effect === "remove" ? others.length : effect === "add" ? others.length + 1 : voters.length;
  const healthy = others.filter((m) => m.healthy);
  const need = Math.floor(size / 2) + 1;
  if (healthy.length >= need) return undefined;
  // etcd's own exception (isReadyToAddVotingMember): a lone healthy member may take a second one,
  // or a one-member cluster could never grow; it has no failure to tolerate either way
  if (effect === "add" && others.length === 1 && healthy.length === 1) return undefined;
  const sick = others.filter((m) => !m.healthy);
  const verb = {
    remove: `removing ${member} from`,
    stop: `stopping ${member} in`,
    add: `adding ${member} to`,
  }[effect];
  return `${verb} ${group} would leave ${healthy.length} healthy of ${size} member(s), fewer than the majority of ${need}; unhealthy: ${
    sick.map((m) => `${m.name}${m.detail ? ` (${m.detail})` : ""}`).join(", ") || "none"
  }`;
}
