import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Inventory } from "../../src/config/schema.js";
import type { RunKey } from "../../src/core/run-key.js";
import type { HostView } from "../../src/recipes/blocks/view.js";
import { renderInitConfig } from "../../src/recipes/kubeadm/config.js";
import { etcdPost } from "../../src/recipes/kubeadm/etcd-members.js";
import {
  ETCD_BOOTSTRAPPED,
  ETCD_MEMBER_LIST,
  ETCD_TOKEN,
  joiningCluster,
  externalEtcdOf,
  memberCerts,
  renderEtcdEnv,
} from "../../src/recipes/etcd-local-proxy/etcd.js";
import { designE } from "../../src/recipes/etcd-local-proxy/index.js";
import { certsValid, makeCaScript } from "../../src/recipes/etcd-local-proxy/pki.js";
import { localHaproxyCfg, localNginxConf } from "../../src/recipes/etcd-local-proxy/proxy.js";
import { localProxyStatus, localProxyStatusFact } from "../../src/recipes/etcd-local-proxy/status.js";
import { caKeyKeptPhase } from "../../src/recipes/etcd-local-proxy/remove.js";
import type { StepPlan } from "../../src/core/action.js";
import type { StepContext } from "../../src/core/step.js";
import { hostSpec } from "../helpers/host-spec.js";

/** Design E's pure parts (issue #14): inventory rules, etcd's env file, the proxies, kubeadm's config. */
const HOSTS = [
  hostSpec("cp1", "10.0.0.11", ["control-plane", "etcd"]),
  hostSpec("cp2", "10.0.0.12", ["control-plane", "etcd"]),
  hostSpec("cp3", "10.0.0.13", ["control-plane", "etcd"]),
  hostSpec("w1", "10.0.0.21", ["worker"]),
];
const inventory = (cluster: Record<string, unknown> = {}, hosts = HOSTS) =>
  Inventory.parse({
    cluster: { name: "e", mode: "etcd-local-proxy", ...cluster },
    hosts: hosts.map((h) => ({ name: h.name, address: h.address, roles: h.roles })),
  });
const view = (host: string, bootstrapped: string[] = [], inv = inventory()): HostView => ({
  host: HOSTS.find((h) => h.name === host)!,
  hosts: HOSTS,
  inventory: inv,
  get: (k: RunKey) => (k.name === ETCD_TOKEN.name ? "tok3n" : ""),
  own: (k: RunKey) => (k.name === ETCD_BOOTSTRAPPED.name && bootstrapped.includes(host) ? host : ""),
  answers: () => Object.fromEntries(HOSTS.map((h) => [h.name, bootstrapped.includes(h.name) ? h.name : ""])),
});

describe("etcd-local-proxy rules", () => {
  const messages = (inv: Inventory) => designE.rules(inv).map((i) => `${i.severity}: ${i.message}`);

  it("the lab's shape (3 etcd members, a worker, proxy port 7443) passes", () => {
    expect(messages(inventory())).toEqual([]);
    expect(inventory().cluster.lbPort).toBe(7443);
  });

  it("an even number of etcd members, none, or one are refused or warned about", () => {
    const two = HOSTS.map((h) => (h.name === "cp3" ? { ...h, roles: ["control-plane" as const] } : h));
    // an even count works (a cluster passes through one while it grows or shrinks): warned
    expect(messages(inventory({}, two))).toEqual([
      "warning: 2 etcd members: use an odd number (3 or 5). 2 members tolerate no more failures than 1, and every write waits for more of them",
    ]);
    const none = HOSTS.map((h) => ({ ...h, roles: h.roles.filter((r) => r !== "etcd") }));
    expect(messages(inventory({}, none))[0]).toMatch(
      /^error: mode etcd-local-proxy needs hosts with role "etcd"/,
    );
    const one = HOSTS.map((h) =>
      h.name === "cp1" ? h : { ...h, roles: h.roles.filter((r) => r !== "etcd") },
    );
    expect(messages(inventory({}, one))).toEqual([
      "warning: one etcd member: the cluster stops when that host does (use 3 or 5)",
    ]);
  });

  it("a proxy port that clashes with the API server or etcd is refused", () => {
    expect(messages(inventory({ lbPort: 6443 }))[0]).toMatch(
      /^error: must differ from the API server port 6443/,
    );
    expect(messages(inventory({ lbPort: 2379 }))).toEqual([
      "error: 2379 is etcd's port on the etcd hosts (use 7443)",
    ]);
  });
});

describe("etcd's env file", () => {
  it("the first bootstrap names every member and says new; afterwards the INITIAL_* settings are gone", () => {
    const boot = renderEtcdEnv(view("cp2"), "bootstrap");
    expect(boot).toContain(
      "ETCD_INITIAL_CLUSTER=cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380,cp3=https://10.0.0.13:2380\nETCD_INITIAL_CLUSTER_STATE=new\n",
    );
    expect(boot).toContain("ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.12:2379\n");
    expect(boot).toContain("ETCD_LISTEN_CLIENT_URLS=https://10.0.0.12:2379,https://127.0.0.1:2379\n");
    expect(boot).toContain("ETCD_INITIAL_CLUSTER_TOKEN=tok3n\n");
    const running = renderEtcdEnv(view("cp2", ["cp1", "cp2", "cp3"]), "running");
    expect(running).not.toMatch(/INITIAL_CLUSTER=|INITIAL_CLUSTER_STATE/);
    expect(running).toContain("ETCD_INITIAL_CLUSTER_TOKEN=tok3n\n");
  });

  it("a member without data while the others have theirs starts as existing, never new", () => {
    expect(renderEtcdEnv(view("cp3", ["cp1", "cp2"]), "bootstrap")).toContain(
      "ETCD_INITIAL_CLUSTER_STATE=existing\n",
    );
  });
});

describe("a member joining a running cluster (issue #21)", () => {
  const GROWN = [...HOSTS, hostSpec("e4", "10.0.0.14", ["etcd"]), hostSpec("e5", "10.0.0.15", ["etcd"])];
  /** The gateway's member list as the gather keeps it: [name ("" = added, not started), address]. */
  const listed = (members: [string, string][]) =>
    `LIST ${JSON.stringify({
      members: members.map(([name, addr], i) => ({
        ID: String(1000 + i),
        name,
        peerURLs: [`https://${addr}:2380`],
        clientURLs: name ? [`https://${addr}:2379`] : [],
      })),
    })}`;
  const joinView = (host: string, bootstrapped: string[], list: string): HostView => ({
    host: GROWN.find((h) => h.name === host)!,
    hosts: GROWN,
    inventory: inventory({}, GROWN),
    get: (k: RunKey) => (k.name === ETCD_TOKEN.name ? "tok3n" : ""),
    own: (k: RunKey) => (k.name === ETCD_BOOTSTRAPPED.name && bootstrapped.includes(host) ? host : ""),
    answers: (k: RunKey) =>
      k.name === ETCD_MEMBER_LIST.name
        ? { cp1: list, e4: "", e5: "" }
        : Object.fromEntries(GROWN.map((h) => [h.name, bootstrapped.includes(h.name) ? h.name : ""])),
  });
  const THREE = listed([
    ["cp1", "10.0.0.11"],
    ["cp2", "10.0.0.12"],
    ["cp3", "10.0.0.13"],
  ]);
  const CPS = ["cp1", "cp2", "cp3"];

  it("two new hosts: each starts with the list as it is once it has been added, one at a time", () => {
    expect(joiningCluster(joinView("e4", CPS, THREE))).toEqual([
      "cp1=https://10.0.0.11:2380",
      "cp2=https://10.0.0.12:2380",
      "cp3=https://10.0.0.13:2380",
      "e4=https://10.0.0.14:2380",
    ]);
    expect(joiningCluster(joinView("e5", CPS, THREE))).toEqual([
      "cp1=https://10.0.0.11:2380",
      "cp2=https://10.0.0.12:2380",
      "cp3=https://10.0.0.13:2380",
      "e4=https://10.0.0.14:2380",
      "e5=https://10.0.0.15:2380",
    ]);
    const env = renderEtcdEnv(joinView("e4", CPS, THREE), "bootstrap");
    expect(env).toContain("ETCD_INITIAL_CLUSTER_STATE=existing\n");
    expect(env).toContain(
      "ETCD_INITIAL_CLUSTER=cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380,cp3=https://10.0.0.13:2380,e4=https://10.0.0.14:2380\n",
    );
  });

  it("a wiped member keeps its place once (its old entry is replaced by the new one)", () => {
    expect(joiningCluster(joinView("cp3", ["cp1", "cp2", "e4", "e5"], THREE))).toEqual([
      "cp1=https://10.0.0.11:2380",
      "cp2=https://10.0.0.12:2380",
      "cp3=https://10.0.0.13:2380",
    ]);
  });

  it("an entry an earlier run added but never started counts, named from the inventory", () => {
    const withE5 = listed([
      ["cp1", "10.0.0.11"],
      ["cp2", "10.0.0.12"],
      ["cp3", "10.0.0.13"],
      ["", "10.0.0.15"],
    ]);
    expect(joiningCluster(joinView("e4", CPS, withE5))).toEqual([
      "cp1=https://10.0.0.11:2380",
      "cp2=https://10.0.0.12:2380",
      "cp3=https://10.0.0.13:2380",
      "e5=https://10.0.0.15:2380",
      "e4=https://10.0.0.14:2380",
    ]);
  });

  it("a member the inventory no longer names stays in the list (etcd compares the counts)", () => {
    const withOld = listed([
      ["cp1", "10.0.0.11"],
      ["cp2", "10.0.0.12"],
      ["cp3", "10.0.0.13"],
      ["old9", "10.0.0.99"],
    ]);
    expect(joiningCluster(joinView("e4", CPS, withOld))).toContain("old9=https://10.0.0.99:2380");
  });
});

describe("local proxies", () => {
  it("haproxy binds only the loopback and checks /readyz on every API server", () => {
    const cfg = localHaproxyCfg(view("w1"));
    expect(cfg).toMatch(/^# Managed by haprov \(local API proxy\):/);
    expect(cfg).toContain("    bind 127.0.0.1:7443\n");
    expect(cfg).toContain("option httpchk GET /readyz");
    expect(cfg.match(/^ {4}server cp\d 10\.0\.0\.1\d:6443$/gm)).toHaveLength(3);
  });

  it("nginx loads the stream module, listens on the loopback and moves on from a refusing server", () => {
    const conf = localNginxConf(view("w1"));
    expect(conf).toContain("load_module /usr/lib/nginx/modules/ngx_stream_module.so;");
    expect(conf).toContain("listen 127.0.0.1:7443;");
    expect(conf).toContain("proxy_next_upstream on;");
    expect(conf.match(/server 10\.0\.0\.1\d:6443 max_fails=1 fail_timeout=10s;/g)).toHaveLength(3);
  });
});

describe("kubeadm with external etcd", () => {
  it("the ClusterConfiguration names every etcd endpoint and the client pair; the endpoint is the local proxy", () => {
    const text = renderInitConfig(
      {
        kubernetesVersion: "v1.31.0",
        endpoint: "127.0.0.1:7443",
        podCidr: "10.244.0.0/16",
        serviceCidr: "10.96.0.0/12",
        apiServerPort: 6443,
        certSANs: ["127.0.0.1", "localhost"],
        externalEtcd: externalEtcdOf(HOSTS),
      },
      { name: "cp1", address: "10.0.0.11" },
    );
    expect(text).toContain('controlPlaneEndpoint: "127.0.0.1:7443"');
    expect(text).toContain(`etcd:
  external:
    endpoints:
      - "https://10.0.0.11:2379"
      - "https://10.0.0.12:2379"
      - "https://10.0.0.13:2379"
    caFile: "/etc/kubernetes/pki/etcd/ca.crt"
    certFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt"
    keyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key"
`);
  });
});

describe("etcd PKI scripts", () => {
  it("are valid sh, and the check is what openssl prints", () => {
    for (const s of [makeCaScript("e"), certsValid("/etc/etcd/pki/ca.crt", memberCerts(HOSTS[0]!))])
      expect(spawnSync("sh", ["-n", "-c", s]).status).toBe(0);
  });
});

describe("status: the etcd CA's key (issue #21)", () => {
  const SEP = "@@haprov-status@@\n";
  /** One etcd host's answer to the status fact: endpoint status, health (+ key), then the node parts. */
  const answer = (caKey: boolean) =>
    [
      `[{"Status":{"header":{"member_id":1},"leader":2,"raftIndex":5,"dbSize":2048}}]`,
      `healthy\n${caKey ? "ca-key\n" : ""}`,
      "-",
      "-",
      "-",
      "-",
      "-",
    ].join(SEP);
  const notes = (keepers: string[]) => {
    const rows = new Map(
      HOSTS.filter((h) => h.roles.includes("etcd")).map((h) => {
        const f = localProxyStatusFact(h, inventory());
        return [
          h.name,
          {
            line: "",
            data: f.parse(answer(keepers.includes(h.name)), 0) as unknown as Record<string, unknown>,
          },
        ];
      }),
    );
    return localProxyStatus.verdict(rows, inventory(), HOSTS).notes ?? [];
  };
  it("one copy is warned about, naming its host; two copies are not; none at all is", () => {
    expect(notes(["cp1"])).toEqual([
      expect.stringMatching(/^warning: the etcd CA's key is only on cp1 \(\/etc\/etcd\/pki\/ca.key\)/),
    ]);
    expect(notes(["cp1", "cp2"])).toEqual([]);
    expect(notes([])).toEqual([expect.stringMatching(/^warning: no etcd host keeps the etcd CA's key/)]);
  });
  it("the key is read on etcd hosts only, and the read is valid sh", () => {
    const f = localProxyStatusFact(HOSTS[0]!, inventory());
    expect(f.script).toContain("test -f /etc/etcd/pki/ca.key && echo ca-key");
    expect(spawnSync("sh", ["-n", "-c", f.script]).status).toBe(0);
    expect(localProxyStatusFact(HOSTS[3]!, inventory()).script).not.toContain("ca.key");
  });
});

describe("member add: etcd's 'not yet' is asked again, anything else fails at once", () => {
  /** The command with a stub curl that answers "unhealthy cluster" `busy` times, then adds. */
  const run = async (busy: number, waitSec: number) => {
    const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "etcdpost-"));
    writeFileSync(
      join(dir, "curl"),
      `#!/bin/sh\nn=$(cat ${dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/n\nif [ $n -le ${busy} ]; then echo '{"error":"etcdserver: unhealthy cluster","code":14}'; else echo '{"member":{"ID":"7"}}'; fi\n`,
      { mode: 0o755 },
    );
    const cmd = etcdPost(
      { endpoints: [], ca: "/ca", cert: "/c", key: "/k" },
      "https://10.0.0.11:2379/v3/cluster/member/add",
      { peerURLs: ["https://10.0.0.14:2380"] },
      { notYet: "unhealthy cluster", waitSec },
    );
    const r = spawnSync("sh", ["-c", cmd], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    });
    const asked = Number(readFileSync(join(dir, "n"), "utf8"));
    rmSync(dir, { recursive: true, force: true });
    return { status: r.status, asked, stderr: r.stderr };
  };
  it("two 'unhealthy cluster' answers, then the add: done on the third ask", async () => {
    expect(await run(2, 5)).toMatchObject({ status: 0, asked: 3 });
  }, 15_000);
  it("still not ready after waitSec: fails with etcd's words", async () => {
    const r = await run(10, 1);
    expect(r.status).toBe(1);
    expect(r.asked).toBe(2);
    expect(r.stderr).toContain("etcd: ");
    expect(r.stderr).toContain("unhealthy cluster");
  }, 15_000);
});

describe("node remove of an etcd host: the etcd CA's key stays in the cluster (issue #21)", () => {
  /** The gated step's plan on `judge`, given which hosts answered that they keep the key. */
  const judge = (node: string, reachable: boolean, keepers: string[], judgeOn: string): StepPlan | Error => {
    const spec = HOSTS.find((h) => h.name === node)!;
    const [phase] = caKeyKeptPhase({
      inventory: inventory(
        {},
        HOSTS.filter((h) => h.name !== node),
      ),
      hosts: HOSTS.filter((h) => h.name !== node),
      limit: undefined,
      node: { name: node, spec, reachable },
    });
    expect(phase!.gate).toBe(true);
    const answers = Object.fromEntries(HOSTS.map((h) => [h.name, keepers.includes(h.name) ? h.name : ""]));
    const ctx = {
      host: HOSTS.find((h) => h.name === judgeOn)!,
      scope: { registered: {}, gathered: { etcdCaKeepers: answers } },
    } as unknown as StepContext;
    try {
      return phase!.steps[0]!.plan({ get: () => undefined as never }, ctx);
    } catch (e) {
      return e as Error;
    }
  };
  it("refused while the node keeps the only copy; allowed once another etcd host has it", () => {
    expect((judge("cp1", true, ["cp1"], "cp1") as Error).message).toMatch(
      /^refusing to remove cp1: it keeps the only copy of the etcd CA's key/,
    );
    expect(judge("cp1", true, ["cp1", "cp2"], "cp1")).toEqual({
      kind: "noop",
      reason: "the etcd CA's key stays on cp2",
    });
    expect(judge("cp1", true, ["cp1", "cp2"], "cp2")).toEqual({ kind: "skip", reason: "judged on cp1" });
  });
  it("a node not reached cannot be asked: a survivor judges, and a key kept nowhere else is a warning", () => {
    expect(judge("cp1", false, [], "cp2")).toMatchObject({
      kind: "noop",
      warnings: [
        expect.stringMatching(/^no surviving etcd host keeps the etcd CA's key \(cp1 is not reached\)/),
      ],
    });
  });
});
