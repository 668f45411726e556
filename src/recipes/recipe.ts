import type { HaMode, Inventory } from "../config/schema.js";
import type { Fact } from "../core/fact.js";
import type { HostSpec } from "../core/host.js";
import type { LabTopology } from "../core/lab-topology.js";
import type { CompiledPhase } from "../core/phase.js";
import type { RunKey } from "../core/run-key.js";
import type { BoundStep } from "../core/step.js";
import type { RecipeInput } from "./blocks/view.js";
import type { Endpoint } from "./endpoint.js";
import type { EtcdAccess } from "./kubeadm/etcd-members.js";
import type { KubeadmOptions } from "./kubeadm/init.js";
import type { MemberSource } from "./membership/sources.js";

export type { RecipeInput } from "./blocks/view.js";

/**
 * One HA design (REFERENCE.md §1–§5): everything haprov knows about a mode, behind one seam. The
 * CLI asks the recipe — for the phases, the inventory rules, the API endpoint, the status checks,
 * the lab's hosts — and never branches on the mode itself (issue #9). Adding a mode is one recipe
 * file (plus its renderers) and one entry in recipes/index.ts.
 */
export interface Recipe {
  mode: HaMode;
  /** One line for `validate` and the README. */
  title: string;
  /**
   * The `up` operation: the phases in order, compiled for these hosts. Absent while the mode has no
   * recipe yet (the CLI then says so; `--playbook prepare` or the operator's own playbook still run).
   * The other operations (recipes/operations.ts) are built from the mode's hooks below.
   */
  phases?(input: RecipeInput): CompiledPhase[];
  /**
   * What this mode adds to `haprov node remove` (issue #21; recipes/kubeadm/remove-node.ts builds
   * the operation). Absent: the mode has no node removal yet, and the CLI says so.
   */
  removal?: NodeRemovalHooks;
  /** Run values the phases register, which a YAML phase placed after them may name. */
  values: RunKey[];
  /** Cross-field inventory rules of this mode (the generic ones are in config/rules.ts). */
  rules(inv: Inventory): RuleIssue[];
  /** Where kubeadm, kubelets and joining nodes reach the API (kubeadm's controlPlaneEndpoint). */
  endpoint(inv: Inventory): Endpoint;
  /** Where the operator's kubeconfig points (`haprov kubeconfig`), with why that one. */
  operatorEndpoint(inv: Inventory, hosts: HostSpec[]): Endpoint & { why: string };
  status?: StatusReader;
  /**
   * Where this host's view of the cluster's real membership is read (issue #19): the sources the
   * membership check asks it, in the run's first round trip and in `status`.
   */
  members(host: HostSpec, inv: Inventory): MemberSource[];
  /**
   * The mode's barriers before `up` returns after a change (kube-vip BGP: every node's sessions
   * established), run on each control-plane node before the endpoint's steady check.
   */
  settle?(input: RecipeInput): BoundStep[];
  lab: LabTopology;
}

/**
 * The input of `haprov node remove`: `hosts` are the hosts that stay (the survivors, NODE left
 * out), so a mode's phases built from it render every config without NODE.
 */
export interface RemovalInput extends RecipeInput {
  node: RemovedNode;
}

export interface RemovedNode {
  name: string;
  /** Its inventory entry: undefined when it was already taken out of the inventory. */
  spec: HostSpec | undefined;
  /** haprov works on NODE itself over SSH (false: `--unreachable`, or not in the inventory). */
  reachable: boolean;
}

/**
 * A mode's part of a node removal. The shared operation runs: membership, preflight (quorum, not
 * the last control-plane node, what NODE holds), `outOfRotation`, `kubectl drain`, etcd leadership
 * moved and the member removed, `kubeadm reset` on NODE followed by `cleanup`, the Node deleted,
 * then the verification and the endpoint's steady check.
 */
export interface NodeRemovalHooks {
  /**
   * Before anything on NODE stops: every load balancer and proxy of the survivors re-rendered
   * without NODE (rolling, the VIP holder last), the VIP moved off NODE and answering elsewhere.
   */
  outOfRotation(r: RemovalInput): CompiledPhase[];
  /** Steps on NODE after its reset: the mode's services stopped and disabled, their configs removed. */
  cleanup(r: RemovalInput): BoundStep[];
  /**
   * Steps on the acting survivor once NODE's Node is deleted: NODE taken out of the mode's own
   * membership (Pacemaker: `pcs cluster node remove`, its fence devices deleted).
   */
  leave?(r: RemovalInput): BoundStep[];
  /**
   * Phases after the leave, on every survivor: each one's own view of the mode's membership
   * without NODE (Pacemaker's peer caches drop a removed node asynchronously), so the next `up`
   * finds the membership the inventory says.
   */
  settle?(r: RemovalInput): CompiledPhase[];
  /** kubeadm's etcd is stacked on the control-plane nodes (false: design E's external etcd). */
  stackedEtcd: boolean;
  /**
   * An external etcd cluster NODE is a member of, as the acting control-plane node reaches it
   * (design E; undefined: NODE is no etcd host). Its member then leaves as a stacked one does.
   */
  externalEtcd?(r: RemovalInput): EtcdAccess | undefined;
  /** Gated phases right after the preflight: the mode's own reasons to refuse (design E: the CA key). */
  preflight?(r: RemovalInput): CompiledPhase[];
  /** The mode's kubeadm options for these hosts: the init node's configuration is kept as up writes it. */
  kubeadm(input: RecipeInput): KubeadmOptions;
}

export type { Endpoint } from "./endpoint.js";

export interface RuleIssue {
  path: PropertyKey[];
  message: string;
  severity: "error" | "warning";
}

/** What `haprov status` reads on each host (in the same one round trip) and how it judges them. */
export interface StatusReader {
  fact(host: HostSpec, inv: Inventory): Fact<HostHealth> | undefined;
  /** The cluster-wide verdict from every host's answer (undefined: unreachable or not asked). */
  verdict(rows: Map<string, HostHealth | undefined>, inv: Inventory, hosts: HostSpec[]): ClusterHealth;
}

/** One host's mode-specific health: a line for people, the data for --json. */
export interface HostHealth {
  line: string;
  data: Record<string, unknown>;
}

export interface ClusterHealth {
  line: string;
  data: Record<string, unknown>;
  /** Plain sentences; none means healthy. */
  problems: string[];
  /** Warnings that do not make the cluster unhealthy (a single copy of a CA key). */
  notes?: string[];
}
