import { describe, expect, it } from "vitest";
import type { StepPlan } from "../../src/core/action.js";
import type { Fact, FactReader } from "../../src/core/fact.js";
import type { HostSpec } from "../../src/core/host.js";
import type { RunScope, StepContext } from "../../src/core/step.js";
import { Inventory } from "../../src/config/schema.js";
import { RECIPES } from "../../src/recipes/index.js";
import { hostSpec } from "../helpers/host-spec.js";
import { testCaBase64 } from "../helpers/test-ca.js";

/**
 * Issue #19: what the join step of a node decides from its own kubeadm state and the cluster's
 * membership read before the run changed anything. A member is never joined over its own state; a
 * node with state is only repaired when it is a member; a join of a fresh node is undone only
 * behind guards. One row per case.
 */
const inventory = Inventory.parse({
  cluster: { name: "c", mode: "keepalived-haproxy", vip: "10.0.0.100", vrrpPassword: "Abc12345" },
  hosts: [
    { name: "cp1", address: "10.0.0.11", roles: ["control-plane"] },
    { name: "cp2", address: "10.0.0.12", roles: ["control-plane"] },
    { name: "w1", address: "10.0.0.21", roles: ["worker"] },
  ],
});
const hosts: HostSpec[] = inventory.hosts.map((h) => hostSpec(h.name, h.address, h.roles));
const phases = RECIPES["keepalived-haproxy"].phases!({ inventory, hosts, limit: undefined });
const stepOf = (phase: string, name: string) =>
  phases.find((p) => p.name === phase)!.steps.find((s) => s.name === name)!;

const CA = testCaBase64();

interface Case {
  host: "cp2" | "w1" | "cp1";
  kubelet: boolean;
  admin?: boolean;
  state: string[];
  node: boolean;
  etcd: boolean;
  /** membership read at all (false: no cluster view registered). */
  read?: boolean;
}

function plan(c: Case): StepPlan | Error {
  const view = {
    known: true,
    foreign: [],
    newcomers: [],
    nodes: c.node ? [c.host] : [],
    etcd: c.etcd ? [c.host] : [],
  };
  const scope: RunScope = {
    registered: {
      initNode: "cp1",
      caCert: CA,
      ...(c.read === false ? {} : { clusterView: JSON.stringify(view) }),
    },
    gathered: {},
  };
  const facts: FactReader = {
    get<T>(f: Fact<T>): T {
      if (f.key === "exists:/etc/kubernetes/kubelet.conf") return c.kubelet as T;
      if (f.key === "exists:/etc/kubernetes/admin.conf") return (c.admin ?? true) as T;
      if (f.key.startsWith("kubeadm-state:")) return c.state as T;
      throw new Error(`unexpected fact ${f.key}`);
    },
  };
  const host = hosts.find((h) => h.name === c.host)!;
  const ctx: StepContext = {
    host,
    scope,
    interpolate: (t) => t,
    interpolateShell: (t) => t,
    interpolatePath: (t) => t,
    renderTemplate: () => "",
  };
  const step =
    c.host === "w1"
      ? stepOf("join workers", "kubeadm join")
      : stepOf("join control plane", "kubeadm join --control-plane");
  try {
    return step.plan(facts, ctx);
  } catch (e) {
    return e as Error;
  }
}

const verdict = (p: StepPlan | Error): string =>
  p instanceof Error
    ? `refuse: ${p.message}`
    : p.kind === "change"
      ? p.summary.startsWith("make ")
        ? "repair"
        : "join"
      : p.kind;

const MANIFESTS = ["/etc/kubernetes/manifests/kube-apiserver.yaml", "/var/lib/etcd"];

describe("join step decisions", () => {
  it.each<[string, Case, RegExp]>([
    [
      "joined: kubelet.conf there",
      { host: "cp2", kubelet: true, state: MANIFESTS, node: true, etcd: true },
      /^noop$/,
    ],
    [
      "the init node is skipped",
      { host: "cp1", kubelet: true, state: MANIFESTS, node: true, etcd: true },
      /^skip$/,
    ],
    ["a fresh node joins", { host: "cp2", kubelet: false, state: [], node: false, etcd: false }, /^join$/],
    ["a fresh worker joins", { host: "w1", kubelet: false, state: [], node: false, etcd: false }, /^join$/],
    [
      "a member that lost kubelet.conf is repaired, not joined",
      { host: "cp2", kubelet: false, state: MANIFESTS, node: true, etcd: true },
      /^repair$/,
    ],
    [
      "a member that lost admin.conf is repaired",
      { host: "cp2", kubelet: true, admin: false, state: MANIFESTS, node: true, etcd: true },
      /^repair$/,
    ],
    [
      "the init node that lost kubelet.conf is repaired",
      { host: "cp1", kubelet: false, state: MANIFESTS, node: true, etcd: true },
      /^repair$/,
    ],
    [
      "a worker member that lost kubelet.conf is repaired",
      { host: "w1", kubelet: false, state: ["/etc/kubernetes/pki/apiserver.crt"], node: true, etcd: false },
      /^repair$/,
    ],
    [
      "state but no etcd member: refused, not joined over",
      { host: "cp2", kubelet: false, state: MANIFESTS, node: true, etcd: false },
      /^refuse: cp2 has Kubernetes state .* but is not a member of the cluster \(a Node: yes; an etcd member: no\)/,
    ],
    [
      "state but no Node: refused",
      { host: "cp2", kubelet: false, state: MANIFESTS, node: false, etcd: true },
      /^refuse: cp2 has Kubernetes state/,
    ],
    [
      "state and the membership could not be read: refused",
      { host: "cp2", kubelet: false, state: MANIFESTS, node: false, etcd: false, read: false },
      /^refuse: cp2 has Kubernetes state/,
    ],
    [
      "a Node without state (reset or reinstalled): refused",
      { host: "w1", kubelet: false, state: [], node: true, etcd: false },
      /^refuse: a Node named w1 is registered in the cluster, but w1 has no Kubernetes state/,
    ],
  ])("%s", (_n, c, want) => {
    expect(verdict(plan(c))).toMatch(want);
  });

  it("a fresh control-plane join is undone only behind guards: fresh at start, and etcd's quorum", () => {
    const p = plan({ host: "cp2", kubelet: false, state: [], node: false, etcd: false });
    if (p instanceof Error || p.kind !== "change") throw new Error("expected a join");
    const undo = p.onFailure ?? [];
    expect(undo.map((a) => (a.kind === "exec" ? a.what : a.path))).toEqual([
      "kubeadm reset",
      "delete the Node cp2",
    ]);
    const [reset, del] = undo;
    expect(reset!.kind === "exec" && reset!.guards!.map((g) => g.kind)).toEqual(["fresh-at-start", "quorum"]);
    expect(del!.kind === "exec" && del!.guards!.map((g) => g.kind)).toEqual(["fresh-at-start"]);
    // nothing destructive among the actions themselves, nor a shell `||` reset tail
    for (const a of p.actions) if (a.kind === "exec") expect(String(a.command)).not.toMatch(/reset/);
  });

  it("a worker's join carries no quorum guard (no etcd member), and no Node delete without a membership read", () => {
    const p = plan({ host: "w1", kubelet: false, state: [], node: false, etcd: false, read: false });
    if (p instanceof Error || p.kind !== "change") throw new Error("expected a join");
    expect((p.onFailure ?? []).map((a) => (a.kind === "exec" ? a.what : ""))).toEqual(["kubeadm reset"]);
  });
});
