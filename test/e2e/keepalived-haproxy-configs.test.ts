import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCheckScript } from "../../src/recipes/keepalived-haproxy/check-script.js";
import { renderHaproxyCfg } from "../../src/recipes/vip/haproxy-cfg.js";
import { renderKeepalivedConf, type KeepalivedInput } from "../../src/recipes/vip/keepalived-conf.js";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";

/**
 * The renderers' output checked by the real validators from Debian 12 (haproxy 2.6, keepalived 2.2)
 * on a lab host — and the negative controls that show why haprov treats any keepalived -t stderr
 * as invalid (REFERENCE.md §0.4).
 */
describe.runIf(dockerAvailable())("design A configs pass the real haproxy -c and keepalived -t", () => {
  let lab: Lab;
  const write = async (path: string, content: string, mode: string) => {
    const b64 = Buffer.from(content).toString("base64");
    const r = await lab.exec("cp1", `echo ${b64} | base64 -d > ${path} && chmod ${mode} ${path}`);
    expect(r.exitCode).toBe(0);
  };
  const keepalivedTest = async () => {
    const r = await lab.host("cp1").container.exec(["keepalived", "-t", "-f", "/tmp/keepalived.conf"]);
    return { code: r.exitCode, stderr: r.stderr };
  };
  beforeAll(async () => {
    lab = await startLab({ hosts: 1 });
    const r = await lab.exec(
      "cp1",
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy keepalived >/dev/null 2>&1; echo rc=$?",
    );
    expect(r.output).toContain("rc=0");
  }, 240_000);
  afterAll(async () => {
    await lab?.destroy();
  });
  const input = (): KeepalivedInput => ({
    routerId: "cp1",
    interface: "eth0",
    virtualRouterId: 51,
    priority: 150,
    selfAddress: lab.host("cp1").address,
    peers: [lab.subnet.hostAddress(1), lab.subnet.hostAddress(2)],
    vip: lab.subnet.vip,
    vipPrefix: lab.subnet.prefix,
    password: "Ab3dE6gH",
    checkScript: "/etc/keepalived/check_apiserver.sh",
    profile: "default",
  });

  it("haproxy -c accepts haproxy.cfg", async () => {
    await write(
      "/tmp/haproxy.cfg",
      renderHaproxyCfg({
        lbPort: 8443,
        apiServerPort: 6443,
        statsPort: 8404,
        backends: [
          { name: "cp1", address: lab.host("cp1").address },
          { name: "cp2", address: lab.subnet.hostAddress(1) },
        ],
      }),
      "0640",
    );
    const r = await lab.host("cp1").container.exec(["haproxy", "-c", "-f", "/tmp/haproxy.cfg"]);
    expect(r.exitCode, r.output).toBe(0);
  });

  it("keepalived -t accepts both profiles with no output at all", async () => {
    await lab.exec("cp1", "mkdir -p /etc/keepalived");
    await write(
      "/etc/keepalived/check_apiserver.sh",
      renderCheckScript({ statsPort: 8404, lbPort: 8443, vip: lab.subnet.vip, interface: "eth0" }),
      "0755",
    );
    for (const profile of ["default", "fast"] as const)
      for (const peers of [input().peers, []]) {
        await write("/tmp/keepalived.conf", renderKeepalivedConf({ ...input(), profile, peers }), "0640");
        expect(await keepalivedTest(), `${profile}, ${peers.length} peer(s)`).toEqual({
          code: 0,
          stderr: "",
        });
      }
  });

  it("negative controls: what keepalived -t only warns about, or passes, is caught by 'any stderr = invalid'", async () => {
    // a 9-character password: keepalived truncates it
    await write("/tmp/keepalived.conf", renderKeepalivedConf({ ...input(), password: "123456789" }), "0640");
    const long = await keepalivedTest();
    expect(long.stderr).toMatch(/Truncating auth_pass/);
    // state MASTER with nopreempt: nopreempt is silently cleared
    await write(
      "/tmp/keepalived.conf",
      renderKeepalivedConf(input()).replace("state BACKUP", "state MASTER"),
      "0640",
    );
    expect((await keepalivedTest()).stderr).toMatch(/nopreempt will not work with initial state MASTER/);
    // a missing check script: the health check is disabled
    await lab.exec("cp1", "mv /etc/keepalived/check_apiserver.sh /tmp/");
    await write("/tmp/keepalived.conf", renderKeepalivedConf(input()), "0640");
    expect((await keepalivedTest()).stderr).toMatch(/Disabling track script check_apiserver/);
    await lab.exec("cp1", "mv /tmp/check_apiserver.sh /etc/keepalived/");
    // a lone node with an empty unicast block (what the renderer wrote before it left the block out)
    await write(
      "/tmp/keepalived.conf",
      renderKeepalivedConf({ ...input(), peers: [] }).replace(
        "    authentication {",
        "    unicast_src_ip 10.0.0.11\n    unicast_peer {\n    }\n    authentication {",
      ),
      "0640",
    );
    expect((await keepalivedTest()).stderr).toMatch(
      /unicast keyword has been specified without any unicast peers/,
    );
  });
});
