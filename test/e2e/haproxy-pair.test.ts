import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changedSteps, haprov, jsonSummary } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab, vipHolders, waitUntil } from "../helpers/lab.js";
import { get200, startProber, steadyFailures } from "../helpers/prober.js";

/**
 * Design B end to end (issue #11): two dedicated load balancers (real keepalived with preemption and
 * weighted checks, real haproxy) in front of three control-plane nodes (kubeadm stand-in). One lab,
 * scenarios in order: each starts from the state the previous one left.
 */
const changes = changedSteps;

const LBS = ["lb1", "lb2"];
const CPS = ["cp1", "cp2", "cp3"];
const ROLES = {
  lb1: "lb",
  lb2: "lb",
  cp1: "control-plane",
  cp2: "control-plane",
  cp3: "control-plane",
} as const;

describe.runIf(dockerAvailable())("haproxy-pair: an active/standby LB pair in front of kubeadm", () => {
  let lab: Lab;
  let inv: string;
  let vipUrl: string;
  const up = (file = inv, ...args: string[]) => haprov(["up", "-i", file, "-y", "--json", ...args]);
  const sh = async (host: string, cmd: string) => (await lab.exec(host, cmd)).output.trim();
  /**
   * Who holds the VIP, asked with the docker CLI: a killed host holds nothing, and asking it through
   * testcontainers' exec would raise out of band (an unhandled stream error).
   */
  const holders = (hosts = [...LBS, ...CPS]) => vipHolders(lab, hosts);
  const waitFor = (what: string, fn: () => boolean | Promise<boolean>, ms = 30_000) =>
    waitUntil(what, fn, ms, 200);
  const heldBy = (h: string) => async () => {
    const now = await holders(LBS);
    return now.length === 1 && now[0] === h;
  };
  const started = (hosts: string[]) =>
    Promise.all(
      hosts.map((h) =>
        sh(h, "systemctl show -p ActiveEnterTimestamp --value haproxy keepalived | tr '\\n' '|'"),
      ),
    );

  beforeAll(async () => {
    lab = await startLab({ names: [...LBS, ...CPS] });
    inv = lab.inventory({ mode: "haproxy-pair", roles: ROLES });
    vipUrl = `https://${lab.subnet.vip}:6443/healthz`;
  }, 180_000);
  afterAll(async () => lab?.destroy());

  it("fresh up: the VIP on the primary LB, /healthz through it, every control-plane node joined, LBs run no Kubernetes", async () => {
    const r = await up();
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    // up returned once the endpoint was steady: 20 requests in the next 5 s all succeed (#19)
    expect(await steadyFailures(vipUrl)).toBe(0);
    expect(await holders()).toEqual(["lb1"]);
    expect(await get200(vipUrl)).toBe(true);
    const nodes = await sh("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes");
    for (const n of CPS) expect(nodes).toMatch(new RegExp(`^${n}\\s+Ready`, "m"));
    expect(nodes).not.toMatch(/^lb/m);
    expect(await sh("cp2", "grep server: /etc/kubernetes/admin.conf")).toContain(
      `https://${lab.subnet.vip}:6443`,
    );
    for (const h of LBS) {
      const ha = await lab.exec(h, "haproxy -c -f /etc/haproxy/haproxy.cfg");
      expect(ha.exitCode, ha.output).toBe(0);
      const ka = await lab.exec(h, "keepalived -t -f /etc/keepalived/keepalived.conf 2>&1 >/dev/null");
      expect([ka.exitCode, ka.output]).toEqual([0, ""]);
      expect(await sh(h, "grep -c '^    server cp' /etc/haproxy/haproxy.cfg")).toBe("3");
      expect(await sh(h, "grep -c 'option httpchk GET /readyz' /etc/haproxy/haproxy.cfg")).toBe("1");
      // no Kubernetes on the load balancers, and no non-local bind they do not need
      expect(await sh(h, "test -e /etc/kubernetes/kubelet.conf && echo yes || echo no")).toBe("no");
      expect(await sh(h, "sysctl -n net.ipv4.ip_nonlocal_bind")).toBe("0");
    }
    expect(await sh("lb1", "grep -E '^ +(state|priority|weight)' /etc/keepalived/keepalived.conf")).toBe(
      "weight -2\n    state MASTER\n    priority 101",
    );
    expect(await sh("lb2", "grep -E '^ +(state|priority)' /etc/keepalived/keepalived.conf")).toBe(
      "state BACKUP\n    priority 100",
    );
    const status = await haprov(["status", "-i", inv]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain(`VIP ${lab.subnet.vip}:6443 held by lb1`);
  }, 300_000);

  it("rerun: nothing changes and nothing restarts", async () => {
    const before = await started(LBS);
    const r = await up();
    expect(r.code, r.stderr).toBe(0);
    expect(changes(r.stdout)).toEqual([]);
    expect(Object.values(jsonSummary(r.stdout).hosts).every((h) => h.changed === 0)).toBe(true);
    expect(await started(LBS)).toEqual(before);
    expect((await haprov(["plan", "-i", inv])).code).toBe(0);
  }, 120_000);

  it("drift: haproxy.cfg edited on the standby, keepalived stopped on the primary — plan names exactly those, up fixes exactly those, the VIP answers throughout", async () => {
    await sh("lb2", "echo '# hand edit' >> /etc/haproxy/haproxy.cfg");
    await sh("lb1", "systemctl stop keepalived");
    await waitFor("the VIP to go to lb2", heldBy("lb2"));
    // from here on (plan, up, the haproxy reload on the holder) not one request may fail, except
    // those in flight when the primary takes the VIP back: their packets then reach lb1, which
    // has no such connection and resets it (any VRRP move does that; preemptDelay postpones it)
    const prober = startProber(vipUrl);
    const expected = [
      "lb1 load balancer: keepalived running",
      "lb2 load balancer: haproxy.cfg",
      "lb2 load balancer: handler reload haproxy",
    ].sort();
    const plan = await haprov(["plan", "-i", inv, "--json"]);
    expect(plan.code).toBe(2);
    expect(changes(plan.stdout)).toEqual(expected);
    const r = await up();
    expect(r.code, r.stderr).toBe(0);
    expect(changes(r.stdout)).toEqual(expected);
    // the primary preempts as soon as its keepalived is back (no preemptDelay configured)
    await waitFor("the VIP back on lb1", heldBy("lb1"));
    await new Promise((res) => setTimeout(res, 1000));
    await prober.stop();
    const takeover =
      1000 *
      Number(
        await sh(
          "lb1",
          "journalctl -u keepalived -o short-unix --no-pager | grep 'Entering MASTER STATE' | tail -1 | cut -d' ' -f1",
        ),
      );
    expect(takeover).toBeGreaterThan(prober.results[0]!.at);
    // a request in flight at the takeover started less than its 1 s budget before it
    const outside = prober.results.filter((x) => !x.ok && (x.at < takeover - 1000 || x.at > takeover + 200));
    expect(
      outside.map((x) => new Date(x.at).toISOString()),
      `takeover ${new Date(takeover).toISOString()}`,
    ).toEqual([]);
    expect(prober.failed(), `failed at ${prober.failedAt().join(", ")}`).toBeLessThanOrEqual(2);
    expect(prober.results.length).toBeGreaterThan(10);
    expect(await sh("lb2", "grep -c 'hand edit' /etc/haproxy/haproxy.cfg || true")).toBe("0");
  }, 120_000);

  it("haproxy stopped on the holder: the weighted check moves the VIP to the standby; up starts haproxy and the primary takes the VIP back", async () => {
    await sh("lb1", "systemctl stop haproxy");
    await waitFor("the VIP to move to lb2", heldBy("lb2"), 15_000);
    expect(await get200(vipUrl)).toBe(true);
    const r = await up();
    expect(r.code, r.stderr).toBe(0);
    expect(changes(r.stdout)).toEqual(["lb1 load balancer: haproxy running"]);
    await waitFor("the VIP back on lb1", heldBy("lb1"), 15_000);
    expect(await get200(vipUrl)).toBe(true);
  }, 120_000);

  it("hard kill of the primary: the VIP moves and requests succeed again within 10 s; restarted, it takes the VIP back", async () => {
    const prober = startProber(vipUrl, 20);
    await new Promise((res) => setTimeout(res, 500));
    const killedAt = Date.now();
    lab.kill("lb1");
    await waitFor(
      "a request through the VIP to succeed",
      async () => prober.firstOkAfter(killedAt + 50) !== undefined,
      20_000,
    );
    await prober.stop();
    const recovered = prober.firstOkAfter(killedAt + 50)!;
    console.log(
      `haproxy-pair failover after a hard kill of lb1: requests succeed again after ${recovered} ms`,
    );
    expect(recovered).toBeLessThanOrEqual(10_000);
    expect(await holders(["lb2", ...CPS])).toEqual(["lb2"]);
    await lab.start("lb1");
    await waitFor("lb1 to take the VIP back", heldBy("lb1"), 60_000);
    expect(await get200(vipUrl)).toBe(true);
  }, 180_000);

  it("with preemptDelay a restarted primary leaves the VIP where it is until the delay has passed", async () => {
    const delayed = lab.inventory({
      mode: "haproxy-pair",
      roles: ROLES,
      cluster: "lbPair: { preemptDelay: 20 }",
    });
    const r = await up(delayed);
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(changes(r.stdout)).toEqual(
      [
        "lb1 load balancer: handler reload keepalived",
        "lb1 load balancer: keepalived.conf",
        "lb2 load balancer: handler reload keepalived",
        "lb2 load balancer: keepalived.conf",
      ].sort(),
    );
    expect(await sh("lb1", "grep -E '^ +(state|preempt_delay)' /etc/keepalived/keepalived.conf")).toBe(
      "state BACKUP\n    preempt_delay 20",
    );
    await waitFor("lb1 to hold the VIP after the reload", heldBy("lb1"));
    lab.kill("lb1");
    await waitFor("lb2 to hold the VIP", heldBy("lb2"), 15_000);
    await lab.start("lb1");
    const back = Date.now();
    // keepalived runs again on lb1 (it sends adverts, with the higher priority) but waits 20 s
    await waitFor(
      "keepalived running on lb1",
      async () => (await sh("lb1", "systemctl is-active keepalived")) === "active",
    );
    await new Promise((res) => setTimeout(res, 8000));
    expect(await holders(LBS)).toEqual(["lb2"]);
    expect(await get200(vipUrl)).toBe(true);
    await waitFor("lb1 to preempt once its delay is over", heldBy("lb1"), 40_000);
    expect(Date.now() - back).toBeGreaterThanOrEqual(15_000);
  }, 180_000);
});
