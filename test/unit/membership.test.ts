import { describe, expect, it } from "vitest";
import type { HostSpec } from "../../src/core/host.js";
import { parseEtcdMembers } from "../../src/recipes/kubeadm/etcd-members.js";
import {
  configPeersSource,
  etcdSource,
  leaseHolderSource,
  type MemberSource,
  vipHolderSource,
} from "../../src/recipes/membership/sources.js";
import {
  membershipNotes,
  membershipProblems,
  membershipVerdict,
} from "../../src/recipes/membership/verdict.js";
import { stackedEtcdAccess } from "../../src/recipes/kubeadm/etcd-members.js";
import { hostSpec } from "../helpers/host-spec.js";

/**
 * The cluster's real membership against the inventory (issue #19): what each source prints on a
 * host, and the verdict — a live member outside the inventory stops up; config leftovers inform.
 */
const VIP = "10.0.0.100";
const cp = (n: number): HostSpec => hostSpec(`cp${n}`, `10.0.0.1${n}`);
const MAC = (n: number) => `02:42:0a:00:00:1${n}`;

const sourcesOf = (h: HostSpec): MemberSource[] => [
  etcdSource(stackedEtcdAccess(["10.0.0.11", "10.0.0.12", "10.0.0.13"])),
  vipHolderSource(h, VIP, 8443),
  configPeersSource(h),
];

const etcdList = (names: number[]) =>
  `LIST ${JSON.stringify({
    header: { cluster_id: "1" },
    members: names.map((n) => ({
      ID: `${n}000`,
      name: `cp${n}`,
      peerURLs: [`https://10.0.0.1${n}:2380`],
      clientURLs: [`https://10.0.0.1${n}:2379`],
    })),
  })}`;

/** One host's answer, section by section, as membershipScript prints it. */
function answer(o: {
  nodes?: number[];
  etcd?: number[];
  self?: number;
  holdsVip?: boolean;
  vipMac?: string;
  neigh?: [string, string][];
  peers?: number[];
}): string {
  const neigh = [...(o.neigh ?? []), ...(o.vipMac ? [[VIP, o.vipMac] as [string, string]] : [])];
  const keys = (o.nodes ?? []).map((n) => Buffer.from(`/registry/minions/cp${n}`).toString("base64"));
  return [
    "@@member:etcd",
    o.etcd ? etcdList(o.etcd) : "LIST ",
    ...(o.etcd && o.nodes ? [`NODES ${keys.join(" ")} `] : []),
    "@@member:vip",
    ...(o.holdsVip ? ["SELF"] : []),
    `MAC ${MAC(o.self ?? 0)}`,
    ...neigh.map(([a, m]) => `NEIGH ${a} ${m}`),
    "@@member:configs",
    ...(o.peers ?? []).flatMap((n) => [`KEEPALIVED 10.0.0.1${n}`, `HAPROXY cp${n} 10.0.0.1${n}:6443`]),
  ].join("\n");
}

describe("membership verdict", () => {
  const all = [cp(1), cp(2), cp(3)];

  it("a healthy cluster whose members are all in the inventory: nothing to say", () => {
    const a = (n: number) =>
      answer({
        nodes: [1, 2, 3],
        etcd: [1, 2, 3],
        self: n,
        holdsVip: n === 1,
        vipMac: n === 1 ? undefined : MAC(1),
        neigh: [["10.0.0.11", MAC(1)]],
        peers: [1, 2, 3].filter((x) => x !== n),
      });
    const v = membershipVerdict({ cp1: a(1), cp2: a(2), cp3: a(3) }, sourcesOf, all);
    expect(v.known).toBe(true);
    expect(v.foreign).toEqual([]);
    expect(v.nodes).toEqual(["cp1", "cp2", "cp3"]);
    expect(v.etcd).toEqual(["cp1", "cp2", "cp3"]);
    expect(membershipProblems(v)).toEqual([]);
  });

  it("the VIP holder dropped from the inventory: named by its MAC's address, with its etcd member and Node", () => {
    const inv = [cp(2), cp(3)];
    const a = (n: number) =>
      answer({
        nodes: [1, 2, 3],
        etcd: [1, 2, 3],
        self: n,
        vipMac: MAC(1),
        neigh: [["10.0.0.11", MAC(1)]],
        peers: [1, 2, 3].filter((x) => x !== n),
      });
    const v = membershipVerdict({ cp2: a(2), cp3: a(3) }, sourcesOf, inv);
    const problems = membershipProblems(v);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^cp1 \(10\.0\.0\.11\) is a Node, an etcd member and the VIP holder of this cluster/,
    );
    expect(problems[0]).toContain("named in keepalived.conf on cp2, cp3");
    expect(problems[0]).toContain("haprov node remove cp1");
  });

  it("a VIP answered by a MAC no host knows is still a problem", () => {
    const v = membershipVerdict({ cp1: answer({ self: 1, vipMac: "02:00:00:00:00:99" }) }, sourcesOf, [
      cp(1),
    ]);
    expect(membershipProblems(v)[0]).toMatch(/^the host with MAC 02:00:00:00:00:99 is the VIP holder/);
  });

  it("an unreachable inventory host holding the VIP is known by its neighbours' tables, not foreign", () => {
    const a = (n: number) => answer({ self: n, vipMac: MAC(1), neigh: [["10.0.0.11", MAC(1)]] });
    const v = membershipVerdict({ cp2: a(2), cp3: a(3) }, sourcesOf, all);
    expect(membershipProblems(v)).toEqual([]);
  });

  it("a host removed by hand (no Node, no member, no VIP) but still named in haprov's configs: a note, not a refusal", () => {
    const inv = [cp(2), cp(3)];
    const a = (n: number) =>
      answer({ nodes: [2, 3], etcd: [2, 3], self: n, peers: [1, 2, 3].filter((x) => x !== n) });
    const v = membershipVerdict({ cp2: a(2), cp3: a(3) }, sourcesOf, inv);
    expect(membershipProblems(v)).toEqual([]);
    expect(membershipNotes(v)).toEqual([
      "cp1 (10.0.0.11) is named in keepalived.conf on cp2, cp3 and named in haproxy.cfg on cp2, cp3 but no member of the cluster: up rewrites them without it",
    ]);
  });

  it("a host of the inventory that is no Node yet is said to join; no cluster at all is said too", () => {
    const v = membershipVerdict(
      { cp1: answer({ nodes: [1], etcd: [1], self: 1, holdsVip: true }) },
      sourcesOf,
      [...all, hostSpec("w1", "10.0.0.21", ["worker"])],
    );
    expect(membershipNotes(v)).toEqual([
      "cp2 is not a member of the cluster yet: up joins it",
      "cp3 is not a member of the cluster yet: up joins it",
      "w1 is not a member of the cluster yet: up joins it",
    ]);
    const none = membershipVerdict({ cp1: answer({ self: 1 }) }, sourcesOf, all);
    expect(none.known).toBe(false);
    expect(membershipNotes(none)).toEqual([]);
  });

  it("a local proxy's nginx.conf naming a removed API server is a note (design E)", () => {
    const src = (h: HostSpec) => [configPeersSource(h)];
    const v = membershipVerdict(
      { cp2: "@@member:configs\nNGINX 10.0.0.11:6443\nNGINX 10.0.0.12:6443\n" },
      src,
      [cp(2), cp(3)],
    );
    expect(membershipProblems(v)).toEqual([]);
    expect(membershipNotes(v)).toEqual([
      "10.0.0.11 is named in nginx.conf on cp2 but no member of the cluster: up rewrites them without it",
    ]);
  });

  it("a lease holder by name only, outside the inventory, is a problem", () => {
    const src = (h: HostSpec) => [leaseHolderSource(h, 6443, "plndr-cp-lock")];
    const v = membershipVerdict({ cp1: "@@member:lease\ncp9\n" }, src, [cp(1)]);
    expect(membershipProblems(v)[0]).toMatch(/^cp9 is the holder of the kube-vip Lease plndr-cp-lock/);
  });
});

describe("etcd members from the JSON gateway", () => {
  it("parses members, learners and each member's /health", () => {
    const out = [
      `LIST {"members":[{"ID":"11","name":"cp1","peerURLs":["https://10.0.0.11:2380"],"clientURLs":["https://10.0.0.11:2379"]},{"ID":"12","peerURLs":["https://10.0.0.12:2380"],"isLearner":true}]}`,
      `HEALTH https://10.0.0.11:2379 {"health":"true","reason":""}`,
    ].join("\n");
    expect(parseEtcdMembers(out)).toEqual([
      {
        id: "11",
        name: "cp1",
        peerUrls: ["https://10.0.0.11:2380"],
        clientUrls: ["https://10.0.0.11:2379"],
        learner: false,
        healthy: true,
      },
      {
        id: "12",
        name: "",
        peerUrls: ["https://10.0.0.12:2380"],
        clientUrls: [],
        learner: true,
        healthy: false,
      },
    ]);
  });
  it("no endpoint answered: unknown, not an empty cluster", () => {
    expect(parseEtcdMembers("LIST \n")).toBeUndefined();
    expect(parseEtcdMembers("LIST <html>")).toBeUndefined();
  });
});

describe("membership snippets", () => {
  it("every source's script, as one host's read, is valid sh and exits 0 on a host with nothing", async () => {
    const { spawnSync } = await import("node:child_process");
    const { membershipScript } = await import("../../src/recipes/membership/sources.js");
    // loopback only: the VIP probe really connects (network rule: no traffic to hosts we did not start)
    const h = hostSpec("cp1", "127.0.0.1", ["control-plane"], { interface: "lo" });
    const script = membershipScript([
      etcdSource(stackedEtcdAccess(["127.0.0.1"])),
      vipHolderSource(h, "127.0.0.99", 1),
      configPeersSource(h),
      leaseHolderSource(h, 6443, "plndr-cp-lock"),
    ]);
    expect(spawnSync("sh", ["-n", "-c", script]).status).toBe(0);
    const r = spawnSync("sh", ["-c", script], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("@@member:etcd\nLIST \n@@member:vip");
  });
});
