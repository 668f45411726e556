import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "haprov-cli-"));
function inventory(text: string): string {
  const f = join(dir, `inv-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  return f;
}
// 192.0.2.0/24 is TEST-NET-1: nothing is contacted by these tests anyway (exit 3 comes first).
const GOOD = `cluster: { name: t, mode: keepalived-haproxy, vip: 192.0.2.100, vrrpPassword: "\${T_VRRP}" }
hosts:
  - { name: a, address: 192.0.2.1, roles: [control-plane] }
  - { name: b, address: 192.0.2.2, roles: [control-plane] }
  - { name: c, address: 192.0.2.3, roles: [control-plane] }
`;

process.env.T_VRRP = "Zq8%pw77";

describe("cli", () => {
  it("--help documents every verb, the common flags and the exit codes", async () => {
    const top = spawnSync(process.execPath, ["bin/haprov.js", "--help"], { encoding: "utf8" });
    expect(top.status).toBe(0);
    for (const verb of ["up", "plan", "validate", "render", "status", "version"])
      expect(top.stdout).toMatch(new RegExp(`\\n  ${verb} `));
    for (const code of ["0 ", "1 ", "2 ", "3 "]) expect(top.stdout).toContain(`\n  ${code}`);
    const up = spawnSync(process.execPath, ["bin/haprov.js", "up", "--help"], { encoding: "utf8" });
    for (const flag of [
      "--inventory",
      "--playbook",
      "--limit",
      "--concurrency",
      "--json",
      "--yes",
      "--verbose",
      "--accept-new-host-keys",
      "--ask-sudo-pass",
    ]) {
      expect(up.stdout).toContain(flag);
    }
  });

  it("exit 3 with file:line:col for an invalid inventory, before contacting anything", async () => {
    const f = inventory(GOOD.replace("192.0.2.2", "192.0.2.1"));
    const r = await cli(["plan", "-i", f, "--playbook", "prepare"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/inv-\w+\.yaml:4:25: error: hosts\[1\]\.address: duplicate address "192.0.2.1"/);
    expect(r.stdout).toBe("");
  });

  it("exit 3 for usage errors", async () => {
    expect((await cli(["plan"])).code).toBe(3);
    expect((await cli(["frobnicate"])).code).toBe(3);
    process.env.T_VRRP = "pw";
    expect(
      (await cli(["plan", "-i", inventory(GOOD), "--playbook", "prepare", "--concurrency", "0"])).code,
    ).toBe(3);
    expect((await cli(["plan", "-i", inventory(GOOD), "--playbook", "prepare", "--limit", "zz"])).code).toBe(
      3,
    );
  });

  it("node remove: refused before any host is contacted without -y off a terminal, with --limit, for the last control-plane node, for a node not in the inventory (#21)", async () => {
    process.env.T_VRRP = "Zq8%pw77";
    const inv = inventory(GOOD);
    const noYes = await cli(["node", "remove", "c", "-i", inv, "--json"]);
    expect(noYes.code).toBe(3);
    expect(noYes.stdout).toMatch(/no terminal to ask on: give -y to apply, or --dry-run/);
    const limited = await cli(["node", "remove", "c", "-i", inv, "-y", "--limit", "a"]);
    expect(limited.code).toBe(3);
    expect(limited.stderr).toMatch(/--limit is refused/);
    const gone = await cli(["node", "remove", "z", "-i", inv, "-y"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/z is not in the inventory, so haprov cannot reach it/);
    const one =
      inventory(`cluster: { name: t, mode: keepalived-haproxy, vip: 192.0.2.100, vrrpPassword: "\${T_VRRP}" }
hosts:
  - { name: a, address: 192.0.2.1, roles: [control-plane] }
  - { name: w, address: 192.0.2.9, roles: [worker] }
`);
    const last = await cli(["node", "remove", "a", "-i", one, "-y"]);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/a is the last control-plane node of the inventory/);
    const help = spawnSync(process.execPath, ["bin/haprov.js", "node", "remove", "--help"], {
      encoding: "utf8",
    });
    expect(help.stdout).toMatch(/--unreachable/);
    expect(help.stdout).toMatch(/--dry-run/);
  });

  it("validate --json reports the inventory and never prints a secret", async () => {
    process.env.T_VRRP = "Zq8%pw77";
    const r = await cli(["validate", "-i", inventory(GOOD), "--playbook", "prepare", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout.trim());
    expect(doc).toMatchObject({
      event: "validate",
      valid: true,
      mode: "keepalived-haproxy",
      hosts: [{ name: "a" }, { name: "b" }, { name: "c" }],
    });
    expect(r.stdout + r.stderr).not.toContain("Zq8%pw77");
  });

  it("lab says what to do when there is no docker at all", () => {
    const r = spawnSync(process.execPath, ["bin/haprov.js", "lab", "ls"], {
      encoding: "utf8",
      env: { ...process.env, PATH: "/nonexistent" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("haprov: no docker command: the lab runs its hosts as Docker containers");
    expect(r.stderr).toMatch(/hint: run scripts\/setup-machine\.sh/);
  });

  it("render prints each host's files with secrets masked", async () => {
    process.env.T_VRRP = "Zq8%pw77";
    const pb = join(dir, "secret-pb.yaml");
    writeFileSync(
      pb,
      `name: s\nphases:\n  - name: p\n    steps:\n      - file: { path: /etc/x.conf, content: "pass {{ cluster.vrrpPassword }} on {{ host.name }}\\n", mode: "0600" }\n`,
    );
    const r = await cli(["render", "-i", inventory(GOOD), "--playbook", pb, "--limit", "b"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("### b: /etc/x.conf (0600 root:root)\npass *** on b\n\n");
  });

  it("the keepalived-haproxy mode renders offline: configs shown, the VRRP password masked, host-only values named once per host", async () => {
    process.env.T_VRRP = "Zq8%pw77";
    const r = await cli(["render", "-i", inventory(GOOD)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("### a: /etc/keepalived/keepalived.conf (0640 root:root)");
    expect(r.stdout).toContain("        auth_pass ***\n");
    expect(r.stdout).not.toContain("Zq8%pw77");
    expect(r.stdout).toContain("### c: /etc/haproxy/haproxy.cfg (0644 root:root)");
    // what depends on the hosts is one line per host, in words, never a {{ template }}
    expect(r.stdout).toContain(
      "# b: known once the hosts are read (the node that initialises the cluster): kubeadm config, flannel manifest, pki ca.crt",
    );
    expect(r.stdout.match(/^# b: /gm)).toHaveLength(1);
    expect(r.stdout).not.toContain("{{");
  });
});

describe("editor support", () => {
  it("haprov schema prints the inventory's JSON Schema, and inventories/inventory.schema.json is that output", async () => {
    const r = await cli(["schema"]);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(["cluster", "ssh", "hosts", "vars"]);
    expect(schema.required).toEqual(["cluster", "hosts"]);
    expect(JSON.stringify(schema)).toContain("POSIX user name");
    expect(readFileSync("inventories/inventory.schema.json", "utf8")).toBe(r.stdout);
  });

  it("every example inventory validates, with its mode's own rules, through the CLI", async () => {
    const env = {
      HAPROV_VRRP_PASSWORD: "pw123456",
      HAPROV_SUDO_PASSWORD: "x",
      IPMI_PASSWORD: "ipmi-secret",
      HAPROV_HACLUSTER_PASSWORD: "hacluster-secret",
      BGP_PASSWORD: "bgp-md5-secret",
    };
    Object.assign(process.env, env);
    try {
      for (const f of readdirSync("inventories").filter((n) => /^(?!lab\.).*\.yaml$/.test(n))) {
        const r = await cli(["validate", "-i", join("inventories", f), "--json"]);
        expect(r.code, `${f}: ${r.stdout}${r.stderr}`).toBe(0);
        // named after its mode, with a variant after it (kube-vip-bgp.yaml)
        const mode = (JSON.parse(r.stdout) as { mode: string }).mode;
        expect(f === `${mode}.yaml` || f.startsWith(`${mode}-`), `${f}: mode ${mode}`).toBe(true);
      }
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
  });

  it("every example inventory starts with the yaml-language-server $schema comment", () => {
    for (const f of readdirSync("inventories").filter((n) => /^(?!lab\.).*\.yaml$/.test(n)))
      expect(readFileSync(join("inventories", f), "utf8").split("\n")[0], f).toBe(
        "# yaml-language-server: $schema=./inventory.schema.json",
      );
  });
});

describe("small things a new user hits", () => {
  it("--version and -V print the version; a missing inventory says 'no such file'", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = spawnSync(process.execPath, ["bin/haprov.js", flag], { encoding: "utf8" });
      expect([r.status, r.stdout]).toEqual([0, expect.stringMatching(/^haprov \d+\.\d+\.\d+ \(node v/)]);
    }
    const r = await cli(["validate", "-i", join(dir, "nope.yaml")]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no such inventory file: ${join(dir, "nope.yaml")}`);
    expect(r.stderr).not.toContain("ENOENT");
  });

  it("a reader that closes the pipe early ends haprov quietly", () => {
    const f = inventory(GOOD);
    const r = spawnSync(
      "sh",
      ["-c", `node bin/haprov.js render -i ${f} | head -n 1; echo "rc=\${PIPESTATUS:-$?}"`],
      {
        encoding: "utf8",
        env: { ...process.env, T_VRRP: "Zq8%pw77" },
      },
    );
    expect(r.stdout.split("\n")[0]).toMatch(/^### a: /);
    expect(r.stderr).toBe("");
  });

  it("render works offline without a VRRP password: the one the first run generates shows as a placeholder", async () => {
    const r = await cli(["render", "-i", inventory(GOOD.replace(', vrrpPassword: "${T_VRRP}"', ""))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "        auth_pass <generated on the first run, then read back from the hosts>\n",
    );
  });
});
