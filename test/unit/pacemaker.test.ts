import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cibFixes, fixScript, type CibWant } from "../../src/recipes/pacemaker/cib.js";
import { parseCrmMon } from "../../src/recipes/pacemaker/status.js";
import { parseXml } from "../../src/recipes/pacemaker/xml.js";

/** Design D's CIB comparison (issue #13): judged by id on the CIB, one fix per object that differs. */
const CONVERGED = readFileSync("test/fixtures/cib-converged.xml", "utf8");
const WANT: CibWant = {
  vip: "10.0.0.100",
  prefix: 24,
  nic: "eth0",
  migrationThreshold: 2,
  failureTimeoutSec: 60,
  fencing: "disabled",
};
const fixes = (xml: string, want: Partial<CibWant> = {}) => cibFixes(parseXml(xml), { ...WANT, ...want });

describe("pacemaker CIB", () => {
  it("a converged CIB needs nothing", () => {
    expect(fixes(CONVERGED)).toEqual([]);
  });

  it("an empty CIB (a new cluster) gets every object, with explicit ids", () => {
    const all = fixes("<configuration/>");
    expect(all.map((f) => f.what)).toEqual([
      "stonith-enabled is true (not set), wanted false",
      "the VIP resource k8s-vip is missing",
      "the haproxy clone haproxy-clone is missing",
      "the constraint colocate-vip-with-haproxy (the VIP only where haproxy runs) is missing",
      "the constraint order-haproxy-then-vip (haproxy starts before the VIP, Optional) is missing",
    ]);
    const { script, stdin } = fixScript(all);
    expect(stdin).toBe("");
    expect(script).toContain(
      'pcs -f "$f" resource create k8s-vip ocf:heartbeat:IPaddr2 ip=10.0.0.100 cidr_netmask=24 nic=eth0 op monitor interval=5s',
    );
    expect(script).toContain(
      'pcs -f "$f" constraint order start haproxy-clone then start k8s-vip kind=Optional id=order-haproxy-then-vip',
    );
    expect(script.split("\n").slice(-2)).toEqual([
      'pcs cluster verify -f "$f" --full',
      'pcs cluster cib-push "$f" diff-against="$d/orig.xml"',
    ]);
    expect(spawnSync("sh", ["-n", "-c", script]).status).toBe(0);
  });

  it("one object removed or edited by hand is the only one put back", () => {
    const noColocation = CONVERGED.replace(/<rsc_colocation[^>]*\/>/, "");
    expect(fixes(noColocation).map((f) => f.commands)).toEqual([
      ['pcs -f "$f" constraint colocation add k8s-vip with haproxy-clone id=colocate-vip-with-haproxy'],
    ]);
    const otherVip = CONVERGED.replace('value="10.0.0.100"', 'value="10.0.0.99"');
    expect(fixes(otherVip).map((f) => f.commands)).toEqual([
      ['pcs -f "$f" resource update k8s-vip ip=10.0.0.100 cidr_netmask=24 nic=eth0'],
    ]);
    expect(fixes(CONVERGED, { migrationThreshold: 3 }).map((f) => f.what)).toEqual([
      "haproxy-clone's failure handling differs (migration-threshold=3, failure-timeout=60s wanted)",
    ]);
    const mandatory = CONVERGED.replace('kind="Optional"', 'kind="Mandatory"');
    expect(fixes(mandatory)[0]!.commands[0]).toBe('pcs -f "$f" constraint delete order-haproxy-then-vip');
  });

  it("fencing: devices are created with their options and the host they fence, and stonith enabled", () => {
    const devices = fixes(CONVERGED, {
      fencing: [
        {
          id: "fence-cp1",
          agent: "fence_ipmilan",
          host: "cp1",
          options: { ip: "10.0.1.11", password: "pa ss'wd" },
        },
      ],
    });
    // the password is never on a command line (issue #20): a placeholder there, the value on stdin
    expect(devices.map((f) => f.commands).flat()).toEqual([
      'pcs -f "$f" property set stonith-enabled=true',
      `pcs -f "$f" stonith create fence-cp1 fence_ipmilan ip=10.0.1.11 password=@@haprov-secret:fence-cp1:password@@ pcmk_host_list=cp1 op monitor interval=60s`,
    ]);
    const { script, stdin } = fixScript(devices);
    expect(script).not.toContain("pa ss");
    expect(stdin).toBe("pa ss'wd\n");
  });

  it("the fix script puts a hostile secret into the offline CIB as XML, from stdin, with a real awk", () => {
    const secret = `p&<>"'\\$(x)w`;
    const devices = fixes(CONVERGED, {
      fencing: [{ id: "fence-cp1", agent: "fence_ipmilan", host: "cp1", options: { password: secret } }],
    });
    const { script, stdin } = fixScript(devices);
    const put = [...script.matchAll(/^awk [\s\S]*?mv "\$f\.tmp" "\$f"$/gm)].map((m) => m[0]);
    expect(put).toHaveLength(1);
    const dir = mkdtempSync(join(tmpdir(), "haprov-cib-"));
    writeFileSync(
      join(dir, "cib.xml"),
      `<nvpair name="password" value="@@haprov-secret:fence-cp1:password@@"/>\n`,
    );
    const r = spawnSync("sh", ["-c", `umask 077; cat > "$d/secrets"; ${put[0]}`], {
      input: stdin,
      env: { ...process.env, d: dir, f: join(dir, "cib.xml") },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "cib.xml"), "utf8")).toBe(
      `<nvpair name="password" value="p&amp;&lt;&gt;&quot;&apos;\\$(x)w"/>\n`,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("pacemaker status", () => {
  it("reads nodes, quorum, where the VIP and haproxy run, and failures from crm_mon's XML", () => {
    const xml = `<pacemaker-result><pacemakerd state="running"/><summary><current_dc present="true" name="cp1" with_quorum="true"/><cluster_options stonith-enabled="false"/></summary>
<nodes><node name="cp1" online="true"/><node name="cp2" online="true"/><node name="cp3" online="false"/></nodes>
<resources><resource id="k8s-vip" role="Started"><node name="cp2" id="2"/></resource>
<clone id="haproxy-clone"><resource id="haproxy" role="Started"><node name="cp1"/></resource><resource id="haproxy" role="Started"><node name="cp2"/></resource><resource id="haproxy" role="Stopped"/></clone></resources>
<failures><failure op_key="haproxy_monitor_5000" node="cp3" exitreason="not running" status="complete"/></failures></pacemaker-result>`;
    expect(parseCrmMon(xml, true)).toEqual({
      running: true,
      quorate: true,
      online: ["cp1", "cp2"],
      offline: ["cp3"],
      vipOn: ["cp2"],
      haproxyOn: ["cp1", "cp2"],
      failedActions: ["haproxy_monitor_5000 on cp3 (not running)"],
      fencing: "disabled",
      holdsVip: true,
    });
  });
});
