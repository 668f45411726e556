import { mkdtemp, writeFile } from "node:fs/promises";
import { clusterOf } from "../../src/config/schema.js";
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

// The table of bad inventories is test/unit/bad-inventories.test.ts (through the CLI, with --json).
describe("inventory loading", () => {
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

  it("warns for a password written in the file, not for one from the environment", async () => {
    const literal = await load(`${CLUSTER}ssh:\n  password: hunter22\n${GOOD_HOSTS}`);
    expect(literal.warnings.map((w) => [w.path, w.message])).toEqual([
      ["ssh.password", expect.stringMatching(/ends up in version control: write \$\{SSH_PASSWORD\}/)],
    ]);
    const fromEnv = await load(`${CLUSTER}ssh:\n  password: \${PW}\n${GOOD_HOSTS}`, { PW: "hunter22" });
    expect(fromEnv.warnings).toEqual([]);
  });

  it("loopback host addresses are a warning (tests stand in with them), not an error", async () => {
    const { warnings } = await load(
      `cluster: { name: t, mode: keepalived-haproxy, vip: 127.0.0.100 }\nhosts:\n  - { name: a, address: 127.0.0.1, roles: [control-plane] }\n`,
    ).catch((e: InputError) => ({ warnings: e.issues }));
    expect(warnings.filter((w) => w.severity === "error").map((w) => w.path)).toEqual(["cluster.vip"]);
    expect(warnings.find((w) => w.path === "hosts[0].address")?.severity).toBe("warning");
  });

  it("interpolates ${ENV} and reports the secrets it must mask", async () => {
    const { inventory, secrets } = await load(
      `${CLUSTER}  vrrpPassword: \${VRRP}\n${GOOD_HOSTS}vars:\n  token: !secret abc-secret-token\n`,
      { VRRP: "s3cr3tpw" },
    );
    expect(clusterOf(inventory, ["keepalived-haproxy"]).vrrpPassword).toBe("s3cr3tpw");
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
});
