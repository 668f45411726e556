import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyMismatchError } from "../../src/core/errors.js";
import type { HostSpec } from "../../src/core/host.js";
import { Secret } from "../../src/core/secret.js";
import { LAB_HOST } from "../../src/lab/host-options.js";
import { SshPool } from "../../src/transport/ssh-pool.js";
import { haprov, jsonSummary } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";

// Real Debian hosts: systemd as PID 1, OpenSSH, sudo, apt (docker/testhost). Needs Docker and the image.
describe.runIf(dockerAvailable())("lab hosts (systemd + sshd containers)", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ hosts: 3 });
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  const spec = (name: string, user: string): HostSpec => {
    const h = lab.host(name);
    return {
      name,
      address: h.address,
      roles: ["control-plane"],
      interface: "eth0",
      priority: undefined,
      vars: {},
      ssh: { user, port: 22, identityFile: lab.key, hostname: h.address, jump: undefined },
    };
  };

  it("boots each host to a running systemd with its own host key and machine-id", async () => {
    const ids = new Set<string>();
    for (const h of lab.hosts) {
      const r = await lab.exec(
        h.name,
        "systemctl is-system-running; cat /etc/machine-id; ls /etc/ssh/ssh_host_*_key.pub",
      );
      const [state, machineId] = r.output.trim().split("\n");
      expect(["running", "degraded"]).toContain(state);
      ids.add(machineId!);
      expect(r.output).not.toMatch(/rsa/);
    }
    expect(ids.size).toBe(3);
    expect(new Set(lab.hosts.map((h) => h.hostKey)).size).toBe(3);
  });

  it("haprov's transport reaches every host as root, as a passwordless-sudo user and as a password-sudo user", async () => {
    for (const h of lab.hosts) {
      const p = new SshPool({
        knownHostsPath: lab.knownHosts,
        acceptNewHostKeys: false,
        useAgent: false,
        sudoPassword: new Secret(LAB_HOST.opsSudoPassword),
      });
      for (const user of ["root", "admin", "ops"]) {
        const c = await p.connect(spec(h.name, user));
        const r = await c.exec("printf '%s %s' $(id -u) $(hostname)");
        expect(r.stdout).toBe(`0 ${h.name}`);
        await c.close();
      }
      expect(p.stats.handshakes).toBe(3);
    }
  });

  it("host-key checking is on: a wrong known_hosts entry is refused", async () => {
    const wrong = join(lab.dir, "wrong_known_hosts");
    // cp1's address with cp2's key: exactly what a man in the middle would look like
    writeFileSync(wrong, `${lab.host("cp1").address} ${lab.host("cp2").hostKey}\n`);
    const p = new SshPool({ knownHostsPath: wrong, acceptNewHostKeys: false, useAgent: false });
    await expect(p.connect(spec("cp1", "root"))).rejects.toThrow(HostKeyMismatchError);
  });

  it("haprov up --playbook prepare converges real hosts (apt, sysctl, built-in modules), then changes nothing", async () => {
    const inv = lab.inventory();
    // Reset one live sysctl so the run has real work besides the files.
    await lab.exec("cp2", "sysctl -w net.ipv4.ip_forward=0");
    const first = await haprov(["up", "-i", inv, "--playbook", "prepare", "--json"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(
      Object.values(jsonSummary(first.stdout).hosts).every((h) => h.changed >= 3 && h.failed === 0),
    ).toBe(true);
    expect((await lab.exec("cp2", "sysctl -n net.ipv4.ip_forward")).output.trim()).toBe("1");
    expect((await lab.exec("cp1", "cat /etc/sysctl.d/99-kubernetes.conf")).output).toContain(
      "net.ipv4.ip_forward = 1",
    );
    const second = await haprov(["up", "-i", inv, "--playbook", "prepare", "--json"]);
    expect(second.code).toBe(0);
    expect(Object.values(jsonSummary(second.stdout).hosts).map((h) => h.changed)).toEqual([0, 0, 0]);
    expect((await haprov(["plan", "-i", inv, "--playbook", "prepare"])).code).toBe(0);
    expect(readFileSync(inv, "utf8")).toContain(lab.subnet.vip);
  });

  it("service step and a service handler on real systemd: install, enable, reload on config change only", async () => {
    const pb = join(lab.dir, "nginx.yaml");
    writeFileSync(
      pb,
      `name: nginx
phases:
  - name: web
    steps:
      - package: { names: [nginx-light] }
      - file:
          path: /etc/nginx/conf.d/haprov.conf
          content: "server { listen 8081; return 200 '{{ host.name }}'; }\\n"
        notify: [reload nginx]
      - service: { name: nginx }
    handlers:
      - { name: reload nginx, service: nginx, action: reload, serial: true }
`,
    );
    const inv = lab.inventory();
    await lab.exec("cp1", "systemctl disable --now nginx 2>/dev/null; true");
    const first = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    for (const h of lab.hosts) {
      expect((await lab.exec(h.name, "curl -s http://127.0.0.1:8081/")).output).toBe(h.name);
      expect((await lab.exec(h.name, "systemctl is-enabled nginx")).output.trim()).toBe("enabled");
    }
    const since = async () =>
      (await lab.exec("cp2", "systemctl show -p ActiveEnterTimestampMonotonic,ExecMainPID nginx")).output;
    const before = await since();
    const again = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    expect(Object.values(jsonSummary(again.stdout).hosts).map((h) => h.changed)).toEqual([0, 0, 0]);
    expect(await since()).toBe(before); // nothing restarted or reloaded
    // Drift: nginx stopped on cp3 → only a start there, no reload anywhere.
    await lab.exec("cp3", "systemctl stop nginx");
    const fix = await haprov(["up", "-i", inv, "--playbook", pb, "--json"]);
    const events = fix.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; host?: string; status?: string; message?: string });
    expect(
      events.filter((e) => e.event === "step" && e.status === "changed").map((e) => `${e.host} ${e.message}`),
    ).toEqual(["cp3 nginx.service: start (was inactive)"]);
    expect(events.filter((e) => e.event === "handler")).toEqual([]);
    expect((await lab.exec("cp3", "systemctl is-active nginx")).output.trim()).toBe("active");
  });

  it("a disconnected host is unreachable, and reachable again once reconnected", async () => {
    const inv = lab.inventory();
    lab.disconnect("cp2");
    const down = await haprov(["status", "-i", inv, "--playbook", "prepare", "--json"]);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/"host":"cp2","address":"[\d.]+","services":\{\},"reachable":false/);
    lab.reconnect("cp2");
    expect((await haprov(["status", "-i", inv, "--playbook", "prepare", "--json"])).code).toBe(0);
  });

  it("status shows a stopped host as unreachable and exits 1", async () => {
    const inv = lab.inventory();
    await lab.stop("cp3");
    const r = await haprov(["status", "-i", inv, "--playbook", "prepare", "--json"]);
    expect(r.code).toBe(1);
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { host: string; reachable: boolean });
    expect(rows.map((x) => [x.host, x.reachable])).toEqual([
      ["cp1", true],
      ["cp2", true],
      ["cp3", false],
    ]);
  });
});
