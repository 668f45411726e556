import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import type { HostSpec } from "../../src/core/host.js";
import { hostSpec } from "../helpers/host-spec.js";
import { UnknownValueError } from "../../src/core/step.js";
import { Inventory } from "../../src/config/schema.js";
import type { HostView } from "../../src/recipes/blocks/view.js";
import { checkScriptFor, keepalivedConfFor, priorities } from "../../src/recipes/keepalived-haproxy/index.js";
import {
  controlPlaneHaproxyCfg,
  controlPlaneKubeadmOptions,
} from "../../src/recipes/vip/control-plane-lb.js";
import { renderInitConfig, renderJoinConfig } from "../../src/recipes/kubeadm/config.js";
import { renderFlannel } from "../../src/recipes/kubeadm/flannel.js";
import { caCertHash, clusterShape, nodeOf } from "../../src/recipes/kubeadm/init.js";
import { lbProblems, lbStatusFact, type LbStatus } from "../../src/recipes/vip/status.js";

const spec = (
  name: string,
  address: string,
  roles: HostSpec["roles"],
  o: { interface?: string; priority?: number } = {},
) => hostSpec(name, address, roles, o);
const hosts = [
  spec("cp1", "10.0.0.11", ["control-plane"]),
  spec("cp2", "10.0.0.12", ["control-plane"], { priority: 149 }),
  spec("cp3", "10.0.0.13", ["control-plane"], { interface: "ens4" }),
  spec("w1", "10.0.0.21", ["worker"]),
];
/** A host as the design A recipe sees it at plan time, with these run values. */
const input = (
  host: string,
  cluster: Record<string, unknown> = {},
  values: Record<string, string> = {},
): HostView => ({
  inventory: Inventory.parse({
    cluster: {
      name: "t",
      mode: "keepalived-haproxy",
      vip: "10.0.0.100",
      kubernetesVersion: "v1.31.2",
      ...cluster,
    },
    hosts: [{ name: "x", address: "10.0.0.1", roles: ["control-plane"] }],
  }),
  host: hosts.find((h) => h.name === host)!,
  hosts,
  get: (key) => {
    const v = values[key.name];
    if (v === undefined) throw new UnknownValueError(`registered.${key.name}`, key.what);
    return v;
  },
  own: () => "",
  answers: () => ({}),
});
const shape = (v: HostView) => clusterShape({ ...v, limit: undefined }, controlPlaneKubeadmOptions(v));

// A throwaway CA made with openssl for this test; its hash as
// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum` prints it.
const { CA_PEM, CA_HASH } = (() => {
  const dir = mkdtempSync(join(tmpdir(), "haprov-ca-"));
  const key = join(dir, "ca.key");
  const crt = join(dir, "ca.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      crt,
      "-subj",
      "/CN=kubernetes",
      "-days",
      "1",
    ],
    { stdio: "ignore" },
  );
  const hash = execFileSync(
    "sh",
    [
      "-c",
      `openssl x509 -pubkey -noout -in ${crt} | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1`,
    ],
    { encoding: "utf8" },
  ).trim();
  const pem = readFileSync(crt, "utf8");
  rmSync(dir, { recursive: true, force: true });
  return { CA_PEM: pem, CA_HASH: `sha256:${hash}` };
})();

describe("design A templates", () => {
  it("priorities: explicit ones kept, the others 254, 253, … skipping taken values", () => {
    // cp2's inventory priority is 149
    expect([...priorities(hosts.slice(0, 3))]).toEqual([
      ["cp1", 254],
      ["cp2", 149],
      ["cp3", 253],
    ]);
    expect([...priorities([spec("a", "1.1.1.1", [], { priority: 254 }), spec("b", "1.1.1.2", [])])]).toEqual([
      ["a", 254],
      ["b", 253],
    ]);
  });

  it("keepalived.conf: peers are the other control-plane nodes, per-host interface, the inventory's password wins", () => {
    const gathered = keepalivedConfFor(input("cp3", {}, { vrrpPassword: "fromHost" }));
    expect(gathered).toContain("unicast_src_ip 10.0.0.13\n");
    expect(gathered).toContain("        10.0.0.11\n        10.0.0.12\n    }");
    expect(gathered).not.toContain("10.0.0.21"); // workers run no keepalived
    expect(gathered).toContain("interface ens4\n");
    expect(gathered).toContain("priority 253\n");
    expect(gathered).toContain("auth_pass fromHost\n");
    const own = keepalivedConfFor(input("cp1", { vrrpPassword: "invPw1" }, { vrrpPassword: "fromHost" }));
    expect(own).toContain("auth_pass invPw1\n");
    expect(() => keepalivedConfFor(input("cp1"))).toThrow(
      /the VRRP password the cluster uses is not known yet/,
    );
    expect(keepalivedConfFor(input("cp1", { vrrpProfile: "fast" }))).not.toContain("auth_pass");
  });

  it("haproxy.cfg lists every control-plane node, never a worker", () => {
    const cfg = controlPlaneHaproxyCfg(input("cp1"));
    expect(cfg.match(/^ {4}server .*$/gm)).toEqual([
      "    server cp1 10.0.0.11:6443",
      "    server cp2 10.0.0.12:6443",
      "    server cp3 10.0.0.13:6443",
    ]);
  });

  it("check script: haproxy alive is enough until this node runs an API server", () => {
    const script = checkScriptFor(input("cp1"));
    const lines = script.split("\n");
    const manifestGate = lines.findIndex((l) => l.includes("kube-apiserver.yaml") && l.endsWith("|| exit 0"));
    expect(lines.findIndex((l) => l.includes("127.0.0.1:8404/healthz"))).toBeLessThan(manifestGate);
    expect(lines.findIndex((l) => l.includes("https://127.0.0.1:8443/healthz"))).toBeGreaterThan(
      manifestGate,
    );
  });

  it("kubeadm init config (v1beta4): VIP:LB-port endpoint, pod subnet, SANs with the VIP and every CP address, pinned node IP", () => {
    const init = (v: HostView) => renderInitConfig(shape(v), nodeOf(v));
    const docs = parseAllDocuments(init(input("cp1", { podCidr: "10.250.0.0/16" }))).map((d) => d.toJS());
    expect(docs.map((d) => [d.apiVersion, d.kind])).toEqual([
      ["kubeadm.k8s.io/v1beta4", "InitConfiguration"],
      ["kubeadm.k8s.io/v1beta4", "ClusterConfiguration"],
    ]);
    expect(docs[0].localAPIEndpoint).toEqual({ advertiseAddress: "10.0.0.11", bindPort: 6443 });
    expect(docs[0].nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: "10.0.0.11" }]);
    expect(docs[1].controlPlaneEndpoint).toBe("10.0.0.100:8443");
    expect(docs[1].networking.podSubnet).toBe("10.250.0.0/16");
    expect(docs[1].apiServer.certSANs).toEqual(["10.0.0.100", "10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    expect(docs[1].networking.serviceSubnet).toBe("10.96.0.0/12");
    const old = parseAllDocuments(init(input("cp1", { kubernetesVersion: "v1.30.4" })))[0]!.toJS();
    expect(old.apiVersion).toBe("kubeadm.k8s.io/v1beta3");
    expect(old.nodeRegistration.kubeletExtraArgs).toEqual({ "node-ip": "10.0.0.11" });
  });

  it("join configs: the joiner's token and the CA hash (openssl's); a certificate key only for control-plane joins with pki: upload", () => {
    const values = {
      token: "abcdef.0123456789abcdef",
      caHash: caCertHash(CA_PEM),
      certificateKey: "k".repeat(64),
    };
    const join = (v: HostView, cp: boolean, key?: string) =>
      parse(renderJoinConfig(shape(v), nodeOf(v), { ...values, certificateKey: key }, cp));
    const cp = join(input("cp2"), true);
    expect(cp.discovery.bootstrapToken).toEqual({
      apiServerEndpoint: "10.0.0.100:8443",
      token: values.token,
      caCertHashes: [CA_HASH],
    });
    expect(cp.controlPlane).toEqual({ localAPIEndpoint: { advertiseAddress: "10.0.0.12", bindPort: 6443 } });
    const up = join(input("cp2", { pki: "upload" }), true, values.certificateKey);
    expect(up.controlPlane.certificateKey).toBe(values.certificateKey);
    const worker = join(input("w1", { pki: "upload" }), false);
    expect(worker.controlPlane).toBeUndefined();
    expect(worker.nodeRegistration.name).toBe("w1");
  });

  it("flannel: the inventory's pod CIDR in net-conf.json, pinned images, kube-flannel namespace", () => {
    const docs = parseAllDocuments(renderFlannel("10.250.0.0/16")).map((d) => d.toJS());
    const cm = docs.find((d) => d.kind === "ConfigMap");
    expect(JSON.parse(cm.data["net-conf.json"]).Network).toBe("10.250.0.0/16");
    const ds = docs.find((d) => d.kind === "DaemonSet");
    expect(ds.metadata).toMatchObject({ name: "kube-flannel-ds", namespace: "kube-flannel" });
    for (const c of [...ds.spec.template.spec.initContainers, ...ds.spec.template.spec.containers])
      expect(c.image).toMatch(/^ghcr\.io\/flannel-io\/[a-z-]+:v\d+\.\d+\.\d+/);
  });
});

describe("design A status", () => {
  const fact = lbStatusFact({ vip: "10.0.0.100", lbPort: 8443, address: "10.0.0.11", apiServerPort: 6443 });
  const S = "@@haprov-status@@";
  const healthy = (holds: boolean): LbStatus =>
    fact.parse(
      [
        holds ? "MASTER" : "BACKUP",
        S,
        holds ? "yes" : "no",
        S,
        "active",
        S,
        "cp1 UP\ncp2 UP",
        S,
        "200",
        S,
        "200",
        S,
        "cp1 Ready\ncp2 Ready",
      ].join("\n"),
      0,
    );

  it("parses one host's answer", () => {
    expect(healthy(true)).toEqual({
      keepalived: "MASTER",
      holdsVip: true,
      haproxy: "active",
      backends: { cp1: "UP", cp2: "UP" },
      apiserverHealthz: "200",
      vipHealthz: "200",
      nodes: { cp1: "Ready", cp2: "Ready" },
    });
  });

  it("names each problem: no holder, two holders, a backend down, a missing node", () => {
    expect(lbProblems({ cp1: healthy(true), cp2: healthy(false) }, ["cp1", "cp2"])).toEqual([]);
    expect(lbProblems({ cp1: healthy(false), cp2: healthy(false) }, ["cp1", "cp2"])).toEqual([
      "no node holds the VIP",
    ]);
    expect(lbProblems({ cp1: healthy(true), cp2: healthy(true) }, ["cp1", "cp2"])).toEqual([
      "the VIP is held by cp1 and cp2 (split brain)",
    ]);
    const down = { ...healthy(false), backends: { cp1: "UP", cp2: "DOWN" } };
    expect(lbProblems({ cp1: healthy(true), cp2: down }, ["cp1", "cp2"])).toEqual([
      "cp2: haproxy sees cp2 DOWN",
    ]);
    expect(lbProblems({ cp1: healthy(true), cp2: healthy(false) }, ["cp1", "cp2", "cp3"])).toEqual([
      "cp1: haproxy has no backend for cp3",
      "cp2: haproxy has no backend for cp3",
      "cp3: not a node of the cluster",
    ]);
  });
});
