import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { loadInventory } from "../../src/config/load-inventory.js";

const dir = await mkdtemp(join(tmpdir(), "haprov-inv-"));
let n = 0;
async function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, `inv${n++}.yaml`);
  await writeFile(file, text);
  return loadInventory([file], { env, cwd: dir });
}
async function issuesOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    await load(text, env);
  } catch (e) {
    if (e instanceof InputError) return e.issues.filter((i) => i.severity === "error");
    throw e;
  }
  throw new Error("expected the inventory to be rejected");
}

const GOOD_HOSTS = `hosts:
  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }
  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }
  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }
`;
const CLUSTER = `cluster:
  name: lab
  mode: keepalived-haproxy
  vip: 10.0.0.100
`;

/** Each row: a bad inventory, the field path, the line:col reported, and part of the message. */
const BAD: {
  name: string;
  yaml: string;
  path: string;
  at: [number, number];
  message: RegExp;
  env?: NodeJS.ProcessEnv;
}[] = [
  {
    name: "unknown top-level key",
    yaml: `${CLUSTER}${GOOD_HOSTS}extra: 1\n`,
    path: "extra",
    at: [9, 1],
    message: /unknown key "extra"/,
  },
  {
    name: "unknown cluster key (typo)",
    yaml: `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.0.100\n  vipp: 1\n${GOOD_HOSTS}`,
    path: "cluster.vipp",
    at: [5, 3],
    message: /unknown key "vipp"/,
  },
  {
    name: "unknown host key",
    yaml: `${CLUSTER}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane], prio: 3 }\n`,
    path: "hosts[0].prio",
    at: [6, 62],
    message: /unknown key "prio"/,
  },
  { name: "missing cluster", yaml: GOOD_HOSTS, path: "cluster", at: [1, 1], message: /required/ },
  { name: "missing hosts", yaml: CLUSTER, path: "hosts", at: [1, 1], message: /required/ },
  {
    name: "empty hosts",
    yaml: `${CLUSTER}hosts: []\n`,
    path: "hosts",
    at: [5, 8],
    message: /at least one host/,
  },
  {
    name: "bad mode",
    yaml: `cluster:\n  name: lab\n  mode: keepalived\n  vip: 10.0.0.100\n${GOOD_HOSTS}`,
    path: "cluster.mode",
    at: [3, 9],
    message: /expected one of: keepalived-haproxy/,
  },
  {
    name: "bad VIP",
    yaml: `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.0\n${GOOD_HOSTS}`,
    path: "cluster.vip",
    at: [4, 8],
    message: /IPv4 address/,
  },
  {
    name: "bad host address",
    yaml: `${CLUSTER}hosts:\n  - name: cp1\n    address: 10.0.0.300\n    roles: [control-plane]\n`,
    path: "hosts[0].address",
    at: [7, 14],
    message: /IPv4 address/,
  },
  {
    name: "host name not a DNS label",
    yaml: `${CLUSTER}hosts:\n  - name: CP_1\n    address: 10.0.0.11\n    roles: [control-plane]\n`,
    path: "hosts[0].name",
    at: [6, 11],
    message: /DNS label/,
  },
  {
    name: "unknown role",
    yaml: `${CLUSTER}hosts:\n  - name: cp1\n    address: 10.0.0.11\n    roles: [master]\n`,
    path: "hosts[0].roles[0]",
    at: [8, 13],
    message: /expected one of: control-plane/,
  },
  {
    name: "no roles",
    yaml: `${CLUSTER}hosts:\n  - name: cp1\n    address: 10.0.0.11\n    roles: []\n`,
    path: "hosts[0].roles",
    at: [8, 12],
    message: /at least one role/,
  },
  {
    name: "port out of range",
    yaml: `${CLUSTER}hosts:\n  - name: cp1\n    address: 10.0.0.11\n    roles: [control-plane]\n    port: 70000\n`,
    path: "hosts[0].port",
    at: [9, 11],
    message: /TCP port/,
  },
  {
    name: "port as string",
    yaml: `${CLUSTER}ssh:\n  port: "22"\n${GOOD_HOSTS}`,
    path: "ssh.port",
    at: [6, 9],
    message: /TCP port/,
  },
  {
    name: "duplicate host name",
    yaml: `${CLUSTER}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp1, address: 10.0.0.12, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`,
    path: "hosts[1].name",
    at: [7, 13],
    message: /duplicate name "cp1"/,
  },
  {
    name: "duplicate address",
    yaml: `${CLUSTER}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp2, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`,
    path: "hosts[1].address",
    at: [7, 27],
    message: /duplicate address "10.0.0.11"/,
  },
  {
    name: "VIP outside the hosts' subnet",
    yaml: `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.1.100\n${GOOD_HOSTS}`,
    path: "hosts[0].address",
    at: [6, 27],
    message: /outside the VIP's subnet 10.0.1.100\/24/,
  },
  {
    name: "VIP equal to a host address",
    yaml: `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.0.12\n${GOOD_HOSTS}`,
    path: "cluster.vip",
    at: [4, 8],
    message: /equals the address of host cp2/,
  },
  {
    name: "VIP is the broadcast address",
    yaml: `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.0.255\n${GOOD_HOSTS}`,
    path: "cluster.vip",
    at: [4, 8],
    message: /broadcast/,
  },
  {
    name: "LB port 6443 on control-plane nodes",
    yaml: `${CLUSTER}  lbPort: 6443\n${GOOD_HOSTS}`,
    path: "cluster.lbPort",
    at: [5, 11],
    message: /must differ from the API server port 6443/,
  },
  {
    name: "no VIP in a VIP mode",
    yaml: `cluster:\n  name: lab\n  mode: kube-vip\n${GOOD_HOSTS}`,
    path: "cluster",
    at: [2, 3],
    message: /needs "vip"/,
  },
  {
    name: "no control-plane host",
    yaml: `${CLUSTER}hosts:\n  - { name: w1, address: 10.0.0.21, roles: [worker] }\n`,
    path: "hosts",
    at: [6, 3],
    message: /role "control-plane"/,
  },
  {
    name: "even control-plane count when strict",
    yaml: `${CLUSTER}  strict: true\nhosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n  - { name: cp4, address: 10.0.0.14, roles: [control-plane] }\n`,
    path: "hosts",
    at: [7, 3],
    message: /4 control-plane hosts.*odd number/,
  },
  {
    name: "VRRP password longer than 8",
    yaml: `${CLUSTER}  vrrpPassword: "123456789"\n${GOOD_HOSTS}`,
    path: "cluster.vrrpPassword",
    at: [5, 17],
    message: /at most 8 characters/,
  },
  {
    name: "virtual_router_id out of range",
    yaml: `${CLUSTER}  virtualRouterId: 256\n${GOOD_HOSTS}`,
    path: "cluster.virtualRouterId",
    at: [5, 20],
    message: /(<=|at most|too big).*255|255/,
  },
  {
    name: "duplicate VRRP priority",
    yaml: `${CLUSTER}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane], priority: 100 }\n  - { name: cp2, address: 10.0.0.12, roles: [control-plane], priority: 100 }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`,
    path: "hosts[1].priority",
    at: [7, 72],
    message: /also the priority of cp1/,
  },
  {
    name: "haproxy-pair without 2 LB hosts",
    yaml: `cluster:\n  name: lab\n  mode: haproxy-pair\n  vip: 10.0.0.100\n${GOOD_HOSTS}`,
    path: "hosts",
    at: [6, 3],
    message: /at least 2 hosts with role "lb"/,
  },
  {
    name: "unset environment variable",
    yaml: `${CLUSTER}  vrrpPassword: \${NOPE_NOT_SET}\n${GOOD_HOSTS}`,
    path: "",
    at: [5, 17],
    message: /environment variable NOPE_NOT_SET is not set/,
  },
  {
    name: "bad pod CIDR",
    yaml: `${CLUSTER}  podCidr: 10.244.0.0\n${GOOD_HOSTS}`,
    path: "cluster.podCidr",
    at: [5, 12],
    message: /IPv4 CIDR/,
  },
  {
    name: "bad Kubernetes version",
    yaml: `${CLUSTER}  kubernetesVersion: latest\n${GOOD_HOSTS}`,
    path: "cluster.kubernetesVersion",
    at: [5, 22],
    message: /Kubernetes version/,
  },
  {
    name: "YAML syntax error",
    yaml: `cluster:\n  name: lab\n   mode: x\n`,
    path: "",
    at: [2, 9],
    message: /multiline key|[Nn]ested|[Ii]mplicit|[Mm]apping/,
  },
  {
    name: "duplicate YAML key",
    yaml: `${CLUSTER}  name: other\n${GOOD_HOSTS}`,
    path: "",
    at: [5, 3],
    message: /[Uu]nique|duplicate/,
  },
  {
    name: "bastion with unknown key",
    yaml: `${CLUSTER}ssh:\n  bastion: { address: jump, hostname: x }\n${GOOD_HOSTS}`,
    path: "ssh.bastion.hostname",
    at: [6, 29],
    message: /unknown key "hostname"/,
  },
];

describe("inventory validation", () => {
  it.each(BAD)("rejects: $name", async ({ yaml, path, at, message, env }) => {
    const issues = await issuesOf(yaml, env);
    const hit = issues.find((i) => i.path === path && message.test(i.message));
    expect(hit, `issues were: ${JSON.stringify(issues, null, 1)}`).toBeDefined();
    expect([hit!.location?.line, hit!.location?.col]).toEqual(at);
    expect(hit!.location?.file).toMatch(/^inv\d+\.yaml$/);
  });

  it("has at least 25 rows", () => {
    expect(BAD.length).toBeGreaterThanOrEqual(25);
  });

  it("accepts a good inventory and fills defaults", async () => {
    const { inventory, warnings } = await load(`${CLUSTER}${GOOD_HOSTS}`);
    expect(inventory.cluster.lbPort).toBe(8443);
    expect(inventory.cluster.podCidr).toBe("10.244.0.0/16");
    expect(inventory.ssh).toEqual({});
    expect(warnings).toEqual([]);
  });

  it("warns for two control-plane hosts without failing", async () => {
    const { warnings } = await load(
      `${CLUSTER}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }\n`,
    );
    expect(warnings.map((w) => w.message).join()).toMatch(/2 control-plane hosts/);
    expect(warnings[0]?.severity).toBe("warning");
  });

  it("interpolates ${ENV} and reports the secrets it must mask", async () => {
    const { inventory, secrets } = await load(
      `${CLUSTER}  vrrpPassword: \${VRRP}\n${GOOD_HOSTS}vars:\n  token: !secret abc-secret-token\n`,
      { VRRP: "s3cr3tpw" },
    );
    expect(inventory.cluster.vrrpPassword).toBe("s3cr3tpw");
    expect(secrets).toContain("s3cr3tpw");
    expect(secrets).toContain("abc-secret-token");
  });

  it("merges several files and locates errors in the right one", async () => {
    const a = join(dir, "multi-a.yaml");
    const b = join(dir, "multi-b.yaml");
    await writeFile(a, CLUSTER);
    await writeFile(
      b,
      `hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp2, address: bad, roles: [control-plane] }\n`,
    );
    const err = await loadInventory([a, b], { env: {}, cwd: dir }).catch((e: InputError) => e);
    expect(err).toBeInstanceOf(InputError);
    const issue = (err as InputError).issues.find((i) => i.path === "hosts[1].address");
    expect(issue?.location).toEqual({ file: "multi-b.yaml", line: 3, col: 27 });
  });

  it("refuses the same section in two files", async () => {
    const a = join(dir, "dup-a.yaml");
    const b = join(dir, "dup-b.yaml");
    await writeFile(a, `${CLUSTER}${GOOD_HOSTS}`);
    await writeFile(b, CLUSTER);
    const err = (await loadInventory([a, b], { env: {}, cwd: dir }).catch(
      (e: InputError) => e,
    )) as InputError;
    expect(err.issues[0]?.message).toMatch(/also defined in dup-a.yaml/);
  });

  it("shipped example inventories are valid", async () => {
    const env = { HAPROV_VRRP_PASSWORD: "pw123456", HAPROV_SUDO_PASSWORD: "x" };
    for (const f of ["keepalived-haproxy", "haproxy-pair", "kube-vip", "pacemaker", "etcd-local-proxy"]) {
      const { inventory } = await loadInventory([`inventories/${f}.yaml`], { env });
      expect(inventory.cluster.mode).toBe(f);
    }
  });
});
