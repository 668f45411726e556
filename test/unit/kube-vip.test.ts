import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Inventory } from "../../src/config/schema.js";
import { designC } from "../../src/recipes/kube-vip/index.js";
import {
  KUBE_VIP_IMAGE,
  renderKubeVipManifest,
  type KubeconfigFile,
  type KubeVipInput,
} from "../../src/recipes/kube-vip/manifest.js";
import { renderBgpPeersFile } from "../../src/recipes/kube-vip/manifest.js";
import { kubeVipStartedAfterFile } from "../../src/recipes/kube-vip/peers-file.js";

/** Design C's pure parts (issue #12): the manifest kube-vip v1.2.3 reads, and the inventory rules. */
const INPUT = {
  vip: "10.0.0.100",
  interface: "eth0",
  port: 6443,
  leaseDuration: 15,
  renewDeadline: 10,
  retryPeriod: 2,
  services: false,
  kubeconfig: "admin.conf" as KubeconfigFile,
};
type Pod = {
  metadata: { name: string; namespace: string };
  spec: {
    hostNetwork: boolean;
    hostAliases: { ip: string; hostnames: string[] }[];
    containers: {
      image: string;
      env: { name: string; value?: string; valueFrom?: unknown }[];
      securityContext: { capabilities: { add: string[]; drop: string[] } };
      volumeMounts: { name: string; mountPath: string }[];
    }[];
    volumes: { name: string; hostPath: { path: string } }[];
  };
};
const pod = (o: Partial<KubeVipInput> = {}) => parse(renderKubeVipManifest({ ...INPUT, ...o })) as Pod;
const env = (p: Pod) =>
  Object.fromEntries(p.spec.containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom]));

describe("kube-vip manifest", () => {
  it("is the control-plane ARP mode of the pinned version, with that version's env names", () => {
    const p = pod();
    expect(p.metadata).toEqual({ name: "kube-vip", namespace: "kube-system" });
    expect(p.spec.hostNetwork).toBe(true);
    expect(p.spec.containers[0]!.image).toBe(KUBE_VIP_IMAGE);
    expect(env(p)).toEqual({
      vip_nodename: { fieldRef: { fieldPath: "spec.nodeName" } },
      vip_arp: "true",
      port: "6443",
      vip_interface: "eth0",
      vip_subnet: "32",
      cp_enable: "true",
      cp_namespace: "kube-system",
      vip_leaderelection: "true",
      vip_leasename: "plndr-cp-lock",
      vip_leaseduration: "15",
      vip_renewdeadline: "10",
      vip_retryperiod: "2",
      address: "10.0.0.100",
    });
    expect(env(pod({ services: true })).svc_enable).toBe("true");
  });

  it("maps kubernetes to the loopback, keeps only NET_ADMIN and NET_RAW, and mounts the chosen kubeconfig at admin.conf", () => {
    const p = pod({ kubeconfig: "super-admin.conf" });
    expect(p.spec.hostAliases).toEqual([{ ip: "127.0.0.1", hostnames: ["kubernetes"] }]);
    expect(p.spec.containers[0]!.securityContext.capabilities).toEqual({
      add: ["NET_ADMIN", "NET_RAW"],
      drop: ["ALL"],
    });
    expect(p.spec.containers[0]!.volumeMounts).toEqual([
      { name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf" },
    ]);
    expect(p.spec.volumes).toEqual([
      { name: "kubeconfig", hostPath: { path: "/etc/kubernetes/super-admin.conf" } },
    ]);
  });
});

describe("kube-vip rules", () => {
  const inventory = (kubeVip: Record<string, number> = {}, extra: Record<string, unknown> = {}) =>
    Inventory.parse({
      cluster: { name: "c", mode: "kube-vip", vip: "10.0.0.100", kubeVip, ...extra },
      hosts: [1, 2, 3].map((i) => ({ name: `cp${i}`, address: `10.0.0.1${i}`, roles: ["control-plane"] })),
    });
  const messages = (inv: Inventory) => designC.rules(inv).map((i) => `${i.severity}: ${i.message}`);

  it("the defaults (15/10/2, the API server port) pass", () => {
    expect(messages(inventory())).toEqual([]);
    expect(designC.endpoint(inventory())).toEqual({ host: "10.0.0.100", port: 6443 });
  });

  it("lease timings client-go would refuse are errors, with the numbers", () => {
    expect(messages(inventory({ leaseDuration: 10, renewDeadline: 10 }))).toEqual([
      "error: must be below leaseDuration (10 s): a leader must give up before its lease runs out, or two nodes hold the VIP",
    ]);
    expect(messages(inventory({ leaseDuration: 5, renewDeadline: 2, retryPeriod: 2 }))).toEqual([
      "error: renewDeadline (2 s) must exceed 1.2 × retryPeriod (2 s), as client-go's leader election requires",
    ]);
  });

  it("a load-balancer port kube-vip would not use is a warning", () => {
    expect(messages(inventory({}, { lbPort: 8443 }))).toEqual([
      "warning: kube-vip forwards nothing: clients reach the leader's API server on VIP:6443; lbPort 8443 is not used",
    ]);
  });
});

describe("kube-vip BGP mode", () => {
  const BGP = {
    routerId: "10.0.0.11",
    localAs: 65001,
    peers: [
      { address: "10.0.0.1", as: 65000, password: "s3cret-md5", multihop: false },
      { address: "10.0.0.2", as: 65000, multihop: true },
    ],
    holdTime: 9,
    keepaliveInterval: 3,
  };

  it("puts the VIP on lo, turns leader election off and lists the peers as kube-vip parses them", () => {
    const e = env(pod({ bgp: BGP }));
    expect(e).toMatchObject({
      vip_arp: "false",
      vip_interface: "lo",
      vip_leaderelection: "false",
      bgp_enable: "true",
      bgp_routerid: "10.0.0.11",
      bgp_as: "65001",
      // a peer has a password: the peers go to a 0600 file on the host, not into the env (#20)
      config_file: "/etc/kube-vip/bgp-peers.json",
      bgp_hold_time: "9",
      bgp_keepalive_interval: "3",
      control_plane_health_check_address: "https://kubernetes:6443/livez",
      control_plane_health_check_ca_path: "/etc/kubernetes/pki/ca.crt",
      address: "10.0.0.100",
    });
    expect(e).not.toHaveProperty("vip_leasename");
    expect(e).not.toHaveProperty("bgp_peers");
    expect(JSON.stringify(pod({ bgp: BGP }))).not.toContain("s3cret-md5");
    // without any password the peers stay in the env, as kube-vip parses them
    const open = env(pod({ bgp: { ...BGP, peers: BGP.peers.map((p) => ({ ...p, password: undefined })) } }));
    expect(open.bgp_peers).toBe("10.0.0.1:65000::false,10.0.0.2:65000::true");
    expect(open).not.toHaveProperty("config_file");
  });

  it("writes the peers file as kube-vip v1.2.3 reads it (BGPConfig.Peers, Go field names) and mounts it read-only", () => {
    expect(JSON.parse(renderBgpPeersFile(BGP.peers))).toEqual({
      BGPConfig: {
        Peers: [
          { Address: "10.0.0.1", Port: 179, AS: 65000, Password: "s3cret-md5", MultiHop: false },
          { Address: "10.0.0.2", Port: 179, AS: 65000, Password: "", MultiHop: true },
        ],
      },
    });
    const p = pod({ bgp: BGP });
    expect(p.spec.containers[0]!.volumeMounts).toContainEqual({
      name: "bgp-peers",
      mountPath: "/etc/kube-vip/bgp-peers.json",
      readOnly: true,
    });
    expect(p.spec.volumes).toContainEqual({
      name: "bgp-peers",
      hostPath: { path: "/etc/kubernetes/kube-vip-bgp-peers.json", type: "File" },
    });
  });

  it("mounts the cluster CA the health check verifies against", () => {
    const p = pod({ bgp: BGP });
    expect(p.spec.containers[0]!.volumeMounts).toContainEqual({
      name: "ca",
      mountPath: "/etc/kubernetes/pki/ca.crt",
      readOnly: true,
    });
    expect(p.spec.volumes).toContainEqual({
      name: "ca",
      hostPath: { path: "/etc/kubernetes/pki/ca.crt", type: "File" },
    });
  });

  const inventory = (bgp: Record<string, unknown>, hosts: Record<string, unknown>[] = [], vip = "10.9.0.1") =>
    Inventory.parse({
      cluster: { name: "c", mode: "kube-vip", vip, kubeVip: { bgp } },
      hosts: [1, 2, 3].map((i) => ({
        name: `cp${i}`,
        address: `10.0.0.1${i}`,
        roles: ["control-plane"],
        ...hosts[i - 1],
      })),
    });
  const messages = (inv: Inventory) => designC.rules(inv).map((i) => `${i.severity}: ${i.message}`);
  const peers = [{ address: "10.0.0.1", as: 65000 }];

  it("a routed VIP outside the nodes' subnet with distinct router IDs passes", () => {
    expect(messages(inventory({ localAs: 65001, peers }))).toEqual([]);
  });

  it("a router ID shared by two nodes is an error naming both", () => {
    const inv = inventory({ localAs: 65001, peers }, [{ routerId: "1.1.1.1" }, { routerId: "1.1.1.1" }]);
    expect(messages(inv)).toEqual([
      "error: cp2: BGP router ID 1.1.1.1 is also cp1's: every node needs its own, or its peers keep only one session",
    ]);
  });

  it("a VIP inside the nodes' subnet is a warning, a peer that is a node and slow keepalives are errors", () => {
    const inv = inventory(
      { localAs: 65001, peers: [{ address: "10.0.0.12", as: 65000 }], holdTime: 9, keepaliveInterval: 4 },
      [],
      "10.0.0.100",
    );
    const m = messages(inv);
    expect(m).toContain(
      "warning: 10.0.0.100 is in cp1's subnet: in BGP mode the VIP sits on every node's lo and all of them would answer ARP for it; use an address outside the nodes' subnet",
    );
    expect(m).toContain("error: 10.0.0.12 is host cp2: peers are the network's routers, not cluster nodes");
    expect(m).toContain(
      "error: must be at most a third of holdTime (9 s): a peer would drop the session between two keepalives",
    );
  });

  it("a peer password that would cut kube-vip's peer list is refused by the schema", () => {
    for (const password of ["abc:defg", "abc,defg", "abc;defg", "with space"]) {
      const r = Inventory.safeParse({
        cluster: {
          name: "c",
          mode: "kube-vip",
          vip: "10.9.0.1",
          kubeVip: { bgp: { localAs: 65001, peers: [{ address: "10.0.0.1", as: 65000, password }] } },
        },
        hosts: [{ name: "cp1", address: "10.0.0.11", roles: ["control-plane"] }],
      });
      expect(r.success, password).toBe(false);
    }
  });
});

describe("kube-vip restarted: a process started after the file was written", () => {
  /**
   * Runs the handler's check on this machine against a real process whose comm is "kube-vip" (a
   * copy of sleep), the file written before or after it started. The old check used btime, which is
   * whole seconds: a restart in the same second as the write could count as before it, for ever.
   */
  const run = async (order: "file-then-process" | "process-then-file") => {
    const { spawn, spawnSync } = await import("node:child_process");
    const { mkdtempSync, copyFileSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "kvip-"));
    const bin = join(dir, "kube-vip");
    copyFileSync("/bin/sleep", bin);
    const file = join(dir, "manifest.yaml");
    const pause = () => new Promise((r) => setTimeout(r, 300));
    let child: ReturnType<typeof spawn> | undefined;
    try {
      if (order === "file-then-process") {
        writeFileSync(file, "a");
        await pause();
        child = spawn(bin, ["30"], { stdio: "ignore" });
      } else {
        child = spawn(bin, ["30"], { stdio: "ignore" });
        await pause();
        writeFileSync(file, "a");
      }
      await pause();
      // the check sees every kube-vip on the machine: ours must be among them
      const others = spawnSync("pgrep", ["-x", "kube-vip"], { encoding: "utf8" }).stdout.trim().split("\n");
      expect(others).toContain(String(child.pid));
      return spawnSync("sh", ["-c", kubeVipStartedAfterFile(file)], { encoding: "utf8" }).status;
    } finally {
      child?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  it("counts a process started 0.3 s after the write", async () => {
    expect(await run("file-then-process")).toBe(0);
  });
  it("does not count a process started 0.3 s before the write", async () => {
    expect(await run("process-then-file")).toBe(1);
  });
});
