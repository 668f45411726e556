import { describe, expect, it } from "vitest";
import type { Action, StepPlan } from "../../src/core/action.js";
import type { Fact, FactReader } from "../../src/core/fact.js";
import type { HostSpec } from "../../src/core/host.js";
import type { RunScope, StepContext } from "../../src/core/step.js";
import { Inventory } from "../../src/config/schema.js";
import { quorumRefusal, type Guard } from "../../src/core/guard.js";
import { corosyncHealth } from "../../src/recipes/pacemaker/remove.js";
import { RECIPES } from "../../src/recipes/index.js";
import { OPERATIONS } from "../../src/recipes/operations.js";
import { hostSpec } from "../helpers/host-spec.js";

/**
 * Issue #21: `haprov node remove` as a phase list. The order (nothing on the node stops before it
 * is out of rotation), the survivors' configs rendered without it, and what each deciding step of
 * the acting node does from the state it reads: the quorum refusal, the leader moved first, the
 * member removed only behind the quorum guard, nothing done twice.
 */
const inventory = Inventory.parse({
  cluster: { name: "c", mode: "keepalived-haproxy", vip: "10.0.0.100", vrrpPassword: "Abc12345" },
  hosts: [
    { name: "cp1", address: "10.0.0.11", roles: ["control-plane"] },
    { name: "cp2", address: "10.0.0.12", roles: ["control-plane"] },
    { name: "cp3", address: "10.0.0.13", roles: ["control-plane"] },
    { name: "w1", address: "10.0.0.21", roles: ["worker"] },
  ],
});
const hosts: HostSpec[] = inventory.hosts.map((h) => hostSpec(h.name, h.address, h.roles));
const remove = (node: string, unreachable = false, inv = inventory, hs = hosts) =>
  OPERATIONS["node remove"](
    RECIPES[inv.cluster.mode],
    { inventory: inv, hosts: hs, limit: undefined },
    {
      node,
      unreachable,
    },
  );

const ID = { cp1: "101", cp2: "102", cp3: "103" } as const;
type Cp = keyof typeof ID;
/** The gateway's member list as etcdMembersScript prints it, with health and the status line. */
function etcdOut(o: { members: Cp[]; sick?: Cp[]; leader?: Cp }): string {
  const addr = (m: Cp) => `10.0.0.1${m.slice(2)}`;
  const list = {
    members: o.members.map((m) => ({
      ID: ID[m],
      name: m,
      peerURLs: [`https://${addr(m)}:2380`],
      clientURLs: [`https://${addr(m)}:2379`],
    })),
  };
  return [
    `LIST ${JSON.stringify(list)}`,
    ...o.members.map(
      (m) => `HEALTH https://${addr(m)}:2379 {"health":"${o.sick?.includes(m) ? "false" : "true"}"}`,
    ),
    `STATUS {"leader":"${ID[o.leader ?? "cp2"]}"}`,
  ].join("\n");
}

function planOn(
  playbook: ReturnType<typeof remove>,
  phaseName: string,
  stepName: string,
  host: string,
  state: { etcd?: string; node?: string; kubeadm?: string[] },
): StepPlan | Error {
  const p = playbook.phases.find((x) => x.name === phaseName)!;
  const step = p.steps.find((s) => s.name === stepName)!;
  const facts: FactReader = {
    get<T>(f: Fact<T>): T {
      if (f.key.startsWith("etcd-state:")) return f.parse(state.etcd ?? "LIST ", 0) as T;
      if (f.key.startsWith("node-object:")) return f.parse(state.node ?? "ABSENT", 0) as T;
      if (f.key.startsWith("kubeadm-state:")) return (state.kubeadm ?? []) as T;
      throw new Error(`unexpected fact ${f.key}`);
    },
  };
  const scope: RunScope = { registered: { actingNode: "cp2" }, gathered: {} };
  const ctx: StepContext = {
    host: hosts.find((h) => h.name === host)!,
    scope,
    interpolate: (t) => t,
    interpolateShell: (t) => t,
    interpolatePath: (t) => t,
    renderTemplate: () => "",
  };
  try {
    return step.plan(facts, ctx);
  } catch (e) {
    return e as Error;
  }
}

const actions = (p: StepPlan | Error): Action[] => {
  if (p instanceof Error) throw p;
  if (p.kind !== "change") throw new Error(`expected a change, got ${p.kind}: ${p.reason}`);
  return p.actions;
};

describe("node remove: the phase list", () => {
  it("nothing on the node stops before it is out of rotation; the survivors act", () => {
    const pb = remove("cp1");
    expect(pb.phases.map((p) => `${p.name}: ${p.hosts.join(",")}`)).toEqual([
      "cluster membership: cp2,cp3,cp1",
      "removal preflight: cp2,cp3",
      "load balancer: cp2,cp3",
      "vip off the node: cp1",
      "vip gate: cp2,cp3",
      "drain: cp2,cp3",
      "leave etcd: cp2,cp3",
      "reset node: cp1",
      "delete node: cp2,cp3",
      "init node files: cp2,cp3",
      "endpoint steady: cp2,cp3",
    ]);
    expect(pb.phases.find((p) => p.name === "removal preflight")!.gate).toBe(true);
  });

  it("--unreachable: no phase runs on the node itself", () => {
    const pb = remove("cp1", true);
    expect(pb.phases.some((p) => p.hosts.includes("cp1"))).toBe(false);
    expect(pb.phases.map((p) => p.name)).not.toContain("reset node");
  });

  it("the survivors' haproxy backends and keepalived peers no longer name the node", () => {
    const pb = remove("cp1");
    const lb = pb.phases.find((p) => p.name === "load balancer")!;
    const scope: RunScope = { registered: { vrrpPassword: "x" }, gathered: { vrrpPassword: {} } };
    const ctx = (h: string): StepContext => ({
      host: hosts.find((x) => x.name === h)!,
      scope,
      interpolate: (t) => t,
      interpolateShell: (t) => t,
      interpolatePath: (t) => t,
      renderTemplate: () => "",
    });
    const content = (step: string) =>
      lb.steps
        .find((s) => s.name === step)!
        .files(ctx("cp2"))
        .map((f) => f.content.toString())
        .join("");
    expect(content("haproxy.cfg")).toMatch(/server cp2 10\.0\.0\.12/);
    expect(content("haproxy.cfg")).toMatch(/server cp3 10\.0\.0\.13/);
    expect(content("haproxy.cfg")).not.toMatch(/cp1|10\.0\.0\.11/);
    expect(content("keepalived.conf")).toMatch(/10\.0\.0\.13/);
    expect(content("keepalived.conf")).not.toMatch(/10\.0\.0\.11/);
  });

  it("refused before any host is contacted: the last control-plane node, a node not in the inventory without --unreachable, an LB-only host", () => {
    const one = Inventory.parse({
      ...inventory,
      hosts: [inventory.hosts[0], inventory.hosts[3]],
    });
    expect(() =>
      remove(
        "cp1",
        false,
        one,
        one.hosts.map((h) => hostSpec(h.name, h.address, h.roles)),
      ),
    ).toThrow(/cp1 is the last control-plane node/);
    expect(() => remove("cp9")).toThrow(/cp9 is not in the inventory.*/);
    expect(remove("cp9", true).phases.map((p) => p.name)).toContain("leave etcd");
    const pair = Inventory.parse({
      cluster: { name: "c", mode: "haproxy-pair", vip: "10.0.0.100", vrrpPassword: "Abc12345" },
      hosts: [
        { name: "lb1", address: "10.0.0.5", roles: ["lb"] },
        { name: "lb2", address: "10.0.0.6", roles: ["lb"] },
        ...inventory.hosts,
      ],
    });
    const pairHosts = pair.hosts.map((h) => hostSpec(h.name, h.address, h.roles));
    expect(() => remove("lb1", false, pair, pairHosts)).toThrow(
      /node remove takes out control-plane nodes, workers and etcd hosts; load-balancer hosts are not removed by it yet/,
    );
  });
});

describe("node remove: what the acting node decides", () => {
  const pb = remove("cp1");
  it("preflight: removing one of three healthy members is allowed, and the even count left is said", () => {
    const p = planOn(pb, "removal preflight", "cp1 can leave", "cp2", {
      etcd: etcdOut({ members: ["cp1", "cp2", "cp3"], leader: "cp1" }),
      node: "NODE ",
    });
    expect(p).toMatchObject({ kind: "noop" });
    const reason = (p as { reason: string }).reason;
    expect(reason).toMatch(/cp1 is a Node/);
    expect(reason).toMatch(/etcd leader \(leadership moves first\)/);
    expect(reason).toMatch(/2 member\(s\) stay, all healthy/);
    // shown without -v: a warning event, not only the step's reason
    expect((p as { warnings: string[] }).warnings).toEqual([
      "removing cp1 leaves 2 etcd members: an even count tolerates no more failures than 1",
    ]);
  });

  it("preflight: refused when another member is unhealthy (1 healthy of 2 left is no majority)", () => {
    const p = planOn(pb, "removal preflight", "cp1 can leave", "cp2", {
      etcd: etcdOut({ members: ["cp1", "cp2", "cp3"], sick: ["cp3"] }),
      node: "NODE ",
    });
    expect(p).toBeInstanceOf(Error);
    expect((p as Error).message).toMatch(
      /refusing to remove cp1: removing cp1 from etcd would leave 1 healthy of 2 member\(s\), fewer than the majority of 2; unhealthy: cp3/,
    );
  });

  it("preflight: the quorum refusal is said even when the Node cannot be read (a hung member behind the API)", () => {
    const p = planOn(pb, "removal preflight", "cp1 can leave", "cp2", {
      etcd: etcdOut({ members: ["cp1", "cp2", "cp3"], sick: ["cp3"] }),
      node: "ERROR Error from server (Timeout): etcd is unreachable",
    });
    expect((p as Error).message).toMatch(/refusing to remove cp1: .*unhealthy: cp3/);
    const ok = planOn(pb, "removal preflight", "cp1 can leave", "cp2", {
      etcd: etcdOut({ members: ["cp1", "cp2", "cp3"] }),
      node: "ERROR Error from server (Timeout): etcd is unreachable",
    });
    expect((ok as Error).message).toMatch(/could not read the Node from the cluster: .*Timeout/);
  });

  it("kubectl talks to the acting node's own API server, not through the endpoint the removal reconfigures", () => {
    const drain = actions(planOn(pb, "drain", "drain cp1", "cp2", { node: "NODE " }));
    expect((drain[0] as { command: string }).command).toMatch(
      /^kubectl --kubeconfig \/etc\/kubernetes\/admin\.conf --server https:\/\/10\.0\.0\.12:6443 drain cp1 /,
    );
    const del = actions(planOn(pb, "delete node", "Node cp1 deleted", "cp2", { node: "NODE " }));
    expect((del[0] as { command: string }).command).toMatch(
      /--server https:\/\/10\.0\.0\.12:6443 delete node cp1/,
    );
  });

  it("the init node keeps the CNI manifest the next up would keep there (the removed node may have been it)", () => {
    const p = pb.phases.find((x) => x.name === "init node files")!;
    expect(p.steps.map((s) => s.name)).toEqual(["kubeadm config", "flannel manifest"]);
    expect(p.handlers.map((h) => h.name)).toEqual(["apply flannel"]);
  });

  it("preflight: refused when no etcd member answers (quorum cannot be shown)", () => {
    const p = planOn(pb, "removal preflight", "cp1 can leave", "cp2", { etcd: "LIST ", node: "NODE " });
    expect((p as Error).message).toMatch(/quorum cannot be shown/);
  });

  it("the other survivors say who acts", () => {
    const p = planOn(pb, "removal preflight", "cp1 can leave", "cp3", { node: "NODE " });
    expect(p).toEqual({ kind: "skip", reason: "cp2 acts for the cluster" });
  });

  it("etcd: the leader's leadership is moved to a healthy survivor, then the member removed behind the quorum guard", () => {
    const a = actions(
      planOn(pb, "leave etcd", "cp1's etcd member removed", "cp2", {
        etcd: etcdOut({ members: ["cp1", "cp2", "cp3"], leader: "cp1", sick: ["cp2"] }),
      }),
    );
    expect(a).toHaveLength(2);
    const move = a[0] as Extract<Action, { kind: "exec" }>;
    expect(move.command).toMatch(
      /'\{"targetID":"103"\}' https:\/\/10\.0\.0\.11:2379\/v3\/maintenance\/transfer-leadership/,
    );
    const rm = a[1] as Extract<Action, { kind: "exec" }>;
    expect(rm.command).toMatch(/'\{"ID":"101"\}' https:\/\/127\.0\.0\.1:2379\/v3\/cluster\/member\/remove/);
    expect(rm.guards).toMatchObject([{ kind: "quorum", group: "etcd", member: "cp1", effect: "remove" }]);
  });

  it("etcd: a follower is removed without a leadership move; a member already gone is not removed twice", () => {
    const a = actions(
      planOn(pb, "leave etcd", "cp1's etcd member removed", "cp2", {
        etcd: etcdOut({ members: ["cp1", "cp2", "cp3"], leader: "cp2" }),
      }),
    );
    expect(a.map((x) => (x as { what?: string }).what)).toEqual(["remove cp1's etcd member"]);
    expect(
      planOn(pb, "leave etcd", "cp1's etcd member removed", "cp2", {
        etcd: etcdOut({ members: ["cp2", "cp3"] }),
      }),
    ).toEqual({ kind: "noop", reason: "cp1 is no etcd member" });
  });

  it("the reset on the node is guarded by etcd's quorum, probed from the acting node, and skips kubeadm's own member removal", () => {
    const a = actions(
      planOn(pb, "reset node", "kubeadm reset", "cp1", { kubeadm: ["/etc/kubernetes/admin.conf"] }),
    );
    const reset = a[0] as Extract<Action, { kind: "exec" }>;
    expect(reset.command).toMatch(/^kubeadm reset -f --skip-phases remove-etcd-member/);
    expect(reset.guards).toMatchObject([{ kind: "quorum", member: "cp1", on: "cp2" }]);
    expect(planOn(pb, "reset node", "kubeadm reset", "cp1", { kubeadm: [] })).toMatchObject({ kind: "noop" });
  });

  it("drain and delete: a node not reached is only cordoned; a Node already gone is left alone", () => {
    const drain = actions(planOn(pb, "drain", "drain cp1", "cp2", { node: "NODE " }));
    expect((drain[0] as { command: string }).command).toMatch(
      /drain cp1 --ignore-daemonsets --delete-emptydir-data --timeout=120s/,
    );
    const dead = remove("cp1", true);
    const cordon = actions(planOn(dead, "drain", "drain cp1", "cp2", { node: "NODE " }));
    expect((cordon[0] as { command: string }).command).toMatch(/ cordon cp1$/);
    expect(planOn(dead, "drain", "drain cp1", "cp2", { node: "NODE true" })).toMatchObject({ kind: "noop" });
    expect(planOn(pb, "delete node", "Node cp1 deleted", "cp2", { node: "ABSENT" })).toMatchObject({
      kind: "noop",
    });
    expect(
      planOn(pb, "delete node", "Node cp1 deleted", "cp2", { node: "ERROR Unauthorized" }),
    ).toBeInstanceOf(Error);
  });
});

describe("node remove in mode pacemaker", () => {
  const pcmk = Inventory.parse({
    cluster: {
      name: "c",
      mode: "pacemaker",
      vip: "10.0.0.100",
      lbPort: 8443,
      pacemaker: {
        fencing: [
          { id: "fence-cp1", agent: "fence_sbd", host: "cp1", options: { devices: "/dev/sdb" } },
          { id: "fence-cp2", agent: "fence_sbd", host: "cp2", options: { devices: "/dev/sdb" } },
        ],
      },
    },
    hosts: inventory.hosts.slice(0, 3),
  });
  const pcmkHosts = pcmk.hosts.map((h) => hostSpec(h.name, h.address, h.roles));
  const pb = remove("cp1", false, pcmk, pcmkHosts);

  it("the VIP leaves by standby from the acting survivor, and NODE leaves Pacemaker after its Node is deleted", () => {
    expect(pb.phases.map((p) => `${p.name}: ${p.hosts.join(",")}`)).toEqual([
      "cluster membership: cp2,cp3,cp1",
      "removal preflight: cp2,cp3",
      "cluster stack: cp2,cp3",
      "vip off the node: cp2,cp3",
      "vip gate: cp2,cp3",
      "drain: cp2,cp3",
      "leave etcd: cp2,cp3",
      "reset node: cp1",
      "delete node: cp2,cp3",
      "pacemaker settled: cp2,cp3",
      "init node files: cp2,cp3",
      "endpoint steady: cp2,cp3",
    ]);
    expect(pb.phases.find((p) => p.name === "delete node")!.steps.map((s) => s.name)).toEqual([
      "Node cp1 deleted",
      "cp1 out of the Pacemaker cluster",
      "cp1 is in no membership",
    ]);
  });

  it("standby only while NODE is an active Pacemaker node; its fence devices deleted before pcs cluster node remove", () => {
    const stepOf = (phase: string, name: string) =>
      pb.phases.find((p) => p.name === phase)!.steps.find((s) => s.name === name)!;
    const ctx: StepContext = {
      host: pcmkHosts[1]!,
      scope: { registered: { actingNode: "cp2" }, gathered: {} },
      interpolate: (t) => t,
      interpolateShell: (t) => t,
      interpolatePath: (t) => t,
      renderTemplate: () => "",
    };
    const cib = `<configuration><resources>
      <primitive id="fence-cp1" class="stonith" type="fence_dummy"><instance_attributes id="a"><nvpair id="n" name="pcmk_host_list" value="cp1"/></instance_attributes></primitive>
      <primitive id="fence-cp2" class="stonith" type="fence_dummy"><instance_attributes id="b"><nvpair id="m" name="pcmk_host_list" value="cp2"/></instance_attributes></primitive>
    </resources></configuration>`;
    const reader = (node: string): FactReader => ({
      get<T>(f: Fact<T>): T {
        if (f.key.startsWith("pcmk-node:")) return f.parse(node, 0) as T;
        if (f.key === "pacemaker-cib") return f.parse(cib, 0) as T;
        throw new Error(`unexpected fact ${f.key}`);
      },
    });
    const standby = stepOf("vip off the node", "cp1 in standby");
    expect(standby.plan(reader("MEMBER off"), ctx)).toMatchObject({ kind: "change" });
    expect(standby.plan(reader("MEMBER on"), ctx)).toMatchObject({ kind: "noop" });
    expect(standby.plan(reader("NONE"), ctx)).toMatchObject({ kind: "noop" });
    const leave = actions(
      stepOf("delete node", "cp1 out of the Pacemaker cluster").plan(reader("MEMBER on"), ctx),
    );
    expect(leave.map((a) => (a as { command: string }).command)).toEqual([
      "pcs stonith delete fence-cp1",
      "pcs cluster node remove cp1",
    ]);
    // every survivor's own view is waited for (the next up's membership check reads it)
    const settle = stepOf("pacemaker settled", "cp1 gone from corosync's node list here");
    expect(settle.plan(reader("NONE"), ctx)).toMatchObject({ kind: "noop" });
    const wait = (actions(settle.plan(reader("MEMBER "), ctx))[0] as { command: string }).command;
    expect(wait).toMatch(/^i=0\nwhile corosync-cmapctl -b nodelist\.node .*grep -qx cp1; do/);
    const dead = remove("cp1", true, pcmk, pcmkHosts);
    const deadLeave = dead.phases
      .find((p) => p.name === "delete node")!
      .steps.find((s) => s.name === "cp1 out of the Pacemaker cluster")!;
    const deadRemove = actions(deadLeave.plan(reader("MEMBER on"), ctx)).at(-1) as {
      command: string;
      guards: Guard[];
    };
    // pcs needs --skip-offline to go on without the node, and --force because it cannot ask a
    // dead node for its quorum view: haprov's corosync quorum guard answers that instead
    expect(deadRemove.command).toBe("pcs cluster node remove cp1 --skip-offline --force");
    expect(deadRemove.guards).toEqual([
      expect.objectContaining({ kind: "quorum", group: "corosync", member: "cp1" }),
    ]);
    const online = (...names: string[]) =>
      corosyncHealth.parse(
        `<crm_mon><nodes>${["cp1", "cp2", "cp3"].map((n) => `<node name="${n}" id="1" online="${names.includes(n)}"/>`).join("")}</nodes><node_history><node name="cp2"/></node_history></crm_mon>`,
        0,
      );
    expect(online("cp2", "cp3")).toHaveLength(3);
    expect(quorumRefusal("corosync", online("cp2", "cp3"), "cp1", "remove")).toBeUndefined();
    expect(quorumRefusal("corosync", online("cp2"), "cp1", "remove")).toMatch(
      /removing cp1 from corosync would leave 1 healthy of 2 member\(s\).*unhealthy: cp3 \(offline\)/,
    );
  });
});

describe("node remove in etcd-local-proxy: etcd hosts (issue #21)", () => {
  const e = Inventory.parse({
    cluster: { name: "e", mode: "etcd-local-proxy", lbPort: 7443 },
    hosts: [
      { name: "cp1", address: "10.0.0.11", roles: ["control-plane", "etcd"] },
      { name: "cp2", address: "10.0.0.12", roles: ["control-plane", "etcd"] },
      { name: "cp3", address: "10.0.0.13", roles: ["control-plane", "etcd"] },
      { name: "e4", address: "10.0.0.14", roles: ["etcd"] },
      { name: "e5", address: "10.0.0.15", roles: ["etcd"] },
      { name: "w1", address: "10.0.0.21", roles: ["worker"] },
    ],
  });
  const eHosts = e.hosts.map((h) => hostSpec(h.name, h.address, h.roles));
  const names = (node: string, unreachable = false) =>
    remove(node, unreachable, e, eHosts).phases.map((p) => p.name);

  it("an etcd-only host: the CA key check gates it, its member leaves from the acting node, its own steps stop etcd and keep its data", () => {
    const list = names("e5");
    expect(list.indexOf("etcd CA key kept")).toBe(list.indexOf("removal preflight") + 1);
    expect(list).toContain("leave etcd");
    expect(list.indexOf("leave etcd")).toBeLessThan(list.indexOf("reset node"));
    const reset = remove("e5", false, e, eHosts).phases.find((p) => p.name === "reset node")!;
    expect(reset.steps.map((s) => s.name)).toEqual([
      "kubeadm reset",
      "login user's kubeconfig removed",
      "etcd stopped for good",
      "etcd data moved aside",
      "etcd settings and credentials removed",
      "etcd CA's key removed",
    ]);
    // the survivors are the judges of the CA key when e5 is not reached; it has no own steps then
    expect(names("e5", true)).not.toContain("reset node");
    expect(names("e5", true)).toContain("etcd CA key kept");
  });

  it("a worker has no etcd part", () => {
    const list = names("w1");
    expect(list).not.toContain("leave etcd");
    expect(list).not.toContain("etcd CA key kept");
  });

  it("a control-plane node that is also an etcd host leaves both", () => {
    const list = names("cp3");
    expect(list).toEqual(expect.arrayContaining(["drain", "etcd CA key kept", "leave etcd", "delete node"]));
    const reset = remove("cp3", false, e, eHosts).phases.find((p) => p.name === "reset node")!;
    expect(reset.steps.map((s) => s.name)).toContain("etcd stopped for good");
    expect(reset.steps.map((s) => s.name)).toContain("local proxy config removed");
  });

  it("the role etcd in a mode with stacked etcd is refused", () => {
    const a = Inventory.parse({
      ...inventory,
      hosts: [...inventory.hosts, { name: "x1", address: "10.0.0.31", roles: ["etcd"] }],
    });
    expect(() =>
      remove(
        "x1",
        false,
        a,
        a.hosts.map((h) => hostSpec(h.name, h.address, h.roles)),
      ),
    ).toThrow(/x1 has the role etcd, which mode keepalived-haproxy does not use/);
  });
});
