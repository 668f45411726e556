import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Inventory } from "../../src/config/schema.js";
import { resolveHosts } from "../../src/cli/resolve-hosts.js";
import { clusterHosts } from "../../src/recipes/templates.js";
import { parseJump } from "../../src/transport/ssh-config.js";

const dir = mkdtempSync(join(tmpdir(), "haprov-resolve-"));
const sshConfig = join(dir, "ssh_config");
writeFileSync(
  sshConfig,
  `Host 10.0.0.11
  HostName cp1.internal
  User ops
  Port 2222
  IdentityFile ~/.ssh/cp1_key
Host 10.0.0.*
  ProxyJump jumper@bastion.internal:2200
Host bastion.internal
  HostName 192.0.2.5
  IdentityFile /keys/jump
`,
);
const inv = (ssh: Record<string, unknown>, hostExtra: Record<string, unknown> = {}) =>
  Inventory.parse({
    cluster: { name: "t", mode: "keepalived-haproxy", vip: "10.0.0.100" },
    ssh: { sshConfig, ...ssh },
    hosts: [
      { name: "cp1", address: "10.0.0.11", roles: ["control-plane"], ...hostExtra },
      { name: "cp2", address: "10.0.0.12", roles: ["control-plane"] },
    ],
  });

describe("host resolution (inventory + ~/.ssh/config)", () => {
  it("takes HostName, User, Port, IdentityFile and ProxyJump from ssh_config", async () => {
    const [cp1, cp2] = await resolveHosts(inv({}), join(dir, "inventory.yaml"));
    expect(cp1!.ssh).toMatchObject({ hostname: "cp1.internal", user: "ops", port: 2222 });
    expect(cp1!.ssh.identityFile).toMatch(/\.ssh\/cp1_key$/);
    expect(cp1!.ssh.jump).toEqual({
      address: "192.0.2.5",
      port: 2200,
      user: "jumper",
      identityFile: "/keys/jump",
    });
    expect(cp2!.ssh).toMatchObject({ hostname: "10.0.0.12", user: "root", port: 22 });
  });

  it("the inventory wins over ssh_config, per host over defaults; relative paths follow the inventory", async () => {
    const [cp1] = await resolveHosts(
      inv({ user: "admin", port: 22, identityFile: "keys/id" }, { user: "root", port: 2022 }),
      join(dir, "inventory.yaml"),
    );
    expect(cp1!.ssh).toMatchObject({ user: "root", port: 2022, identityFile: join(dir, "keys/id") });
  });

  it("an inventory bastion applies to every host; sshConfig: false ignores the file", async () => {
    const hosts = await resolveHosts(
      inv({ sshConfig: false, bastion: { address: "jump.example", user: "j" } }),
      join(dir, "inventory.yaml"),
    );
    expect(hosts.map((h) => h.ssh.jump)).toEqual([
      { address: "jump.example", port: 22, user: "j", identityFile: undefined },
      { address: "jump.example", port: 22, user: "j", identityFile: undefined },
    ]);
    expect(hosts[0]!.ssh.hostname).toBe("10.0.0.11");
  });

  it("parses ProxyJump forms", () => {
    expect(parseJump("u@h:2")).toEqual({ user: "u", host: "h", port: 2 });
    expect(parseJump("h")).toEqual({ host: "h" });
    expect(parseJump("[::1]:22,other")).toEqual({ host: "::1", port: 22 });
  });

  it("the cluster-hosts template renders the same bytes every time", async () => {
    const i = inv({});
    const hosts = await resolveHosts(i, join(dir, "inventory.yaml"));
    const out = clusterHosts({ inventory: i, host: hosts[0]!, hosts, values: {}, gathered: {} });
    expect(out).toBe(clusterHosts({ inventory: i, host: hosts[1]!, hosts, values: {}, gathered: {} }));
    expect(out).toMatchInlineSnapshot(`
      "# Managed by haprov for cluster t: changes here are put back on the next run.
      10.0.0.11	cp1
      10.0.0.12	cp2
      "
    `);
  });
});
