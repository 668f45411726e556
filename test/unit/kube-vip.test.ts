import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Inventory } from "../../src/config/schema.js";
import { designC } from "../../src/recipes/kube-vip/index.js";
import {
  KUBE_VIP_IMAGE,
  renderKubeVipManifest,
  type KubeconfigFile,
} from "../../src/recipes/kube-vip/manifest.js";

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
const pod = (o: Partial<typeof INPUT> = {}) => parse(renderKubeVipManifest({ ...INPUT, ...o })) as Pod;
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
