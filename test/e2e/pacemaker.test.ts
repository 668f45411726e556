import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changedSteps, haprov, jsonSummary } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab, vipHolders, waitUntil } from "../helpers/lab.js";
import { get200, startProber, steadyFailures } from "../helpers/prober.js";

/**
 * Design D end to end (issue #13): real pacemaker, corosync, pcs, pcsd, IPaddr2 and haproxy on
 * three lab hosts (fencing disabled, as a lab must: nothing to fence with); kubeadm is the
 * stand-in. One lab, scenarios in order.
 */
const changes = changedSteps;

const CPS = ["cp1", "cp2", "cp3"];

describe.runIf(dockerAvailable())(
  "pacemaker: a Pacemaker/Corosync cluster holds the VIP and a cloned haproxy",
  () => {
    let lab: Lab;
    let inv: string;
    let vipUrl: string;
    const up = (...args: string[]) => haprov(["up", "-i", inv, "-y", "--json", ...args]);
    const sh = async (host: string, cmd: string) => (await lab.exec(host, cmd)).output.trim();
    const holders = (hosts = CPS) => vipHolders(lab, hosts);
    const waitFor = (what: string, fn: () => boolean | Promise<boolean>, ms = 60_000) =>
      waitUntil(what, fn, ms, 250);
    const crm = async (h: string) => sh(h, "crm_mon -1 --output-as=xml");
    const cibEpoch = (h: string) => sh(h, `cibadmin --query | head -n 1 | grep -o 'epoch="[0-9]*"'`);

    // a password with quotes and a $: its quoted forms must be masked too, and no command line
    // on any host may carry it (#20)
    const HACLUSTER_PW = `hc'Pw"$x9`;
    process.env.HAPROV_TEST_HACLUSTER_PW = HACLUSTER_PW;

    beforeAll(async () => {
      lab = await startLab({ names: CPS });
      inv = lab.inventory({
        mode: "pacemaker",
        cluster:
          'pacemaker: { fencing: disabled, token: 2000, haclusterPassword: "${HAPROV_TEST_HACLUSTER_PW}" }',
      });
      vipUrl = `https://${lab.subnet.vip}:8443/healthz`;
    }, 180_000);
    afterAll(async () => lab?.destroy());

    it("fresh up: 3 nodes online and quorate, the VIP on one node, haproxy started on all three, /healthz through the VIP, every node joined", async () => {
      // every command line on every host, sampled every 100 ms while up runs
      await Promise.all(
        CPS.map((h) =>
          sh(
            h,
            "setsid sh -c 'while [ ! -e /tmp/ps.stop ]; do ps -eo args >> /tmp/ps.log; sleep 0.1; done' >/dev/null 2>&1 < /dev/null &",
          ),
        ),
      );
      const r = await up();
      await Promise.all(CPS.map((h) => sh(h, "touch /tmp/ps.stop")));
      expect(r.code, r.stderr + r.stdout.slice(-4000)).toBe(0);
      // up returned once the endpoint was steady: 20 requests in the next 5 s all succeed (#19)
      expect(await steadyFailures(vipUrl)).toBe(0);
      const status = await crm("cp2");
      expect(status).toContain('with_quorum="true"');
      for (const h of CPS) expect(status).toMatch(new RegExp(`<node name="${h}" [^>]*online="true"`));
      expect(holders()).toHaveLength(1);
      const haproxyOn = [
        ...status.matchAll(/<resource id="haproxy" [^>]*role="Started"[^>]*>\s*<node name="(\w+)"/g),
      ].map((m) => m[1]);
      expect(haproxyOn.sort()).toEqual(CPS);
      expect(await get200(vipUrl)).toBe(true);
      const nodes = await sh("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes");
      for (const n of CPS) expect(nodes).toMatch(new RegExp(`^${n}\\s+Ready`, "m"));
      for (const h of CPS) {
        // Pacemaker owns haproxy: disabled in systemd, running because Pacemaker started it
        expect(await sh(h, "systemctl is-enabled haproxy || true")).toBe("disabled");
        expect(await sh(h, "systemctl is-active haproxy")).toBe("active");
        expect(await sh(h, "grep -E 'cluster_name|token:' /etc/corosync/corosync.conf | tr -s ' '")).toBe(
          `cluster_name: ${lab.id}\n token: 2000`,
        );
        expect(await sh(h, "stat -c '%a %U' /var/lib/haprov/*/hacluster-password")).toBe("600 root");
      }
      // the hacluster password never reached a command line or the output, in any form
      const pw = await sh("cp1", "cat /var/lib/haprov/*/hacluster-password");
      expect(pw).toBe(HACLUSTER_PW);
      const forms = [pw, pw.replaceAll("'", "'\\''"), JSON.stringify(pw).slice(1, -1)];
      for (const f of forms) expect(r.stdout + r.stderr).not.toContain(f);
      for (const h of CPS) {
        const log = (await lab.exec(h, "cat /tmp/ps.log")).output;
        expect(log.split("\n").length, `${h}: the ps sampler ran`).toBeGreaterThan(100);
        for (const f of forms) expect(log, `${h}: a command line carried the password`).not.toContain(f);
      }
      const st = await haprov(["status", "-i", inv]);
      expect(st.code, st.stdout).toBe(0);
      expect(st.stdout).toMatch(/quorum yes; fencing disabled \(lab only\)/);
      // apt-bound (Pacemaker's packages on three hosts sharing two cores, a ps sampler on each):
      // 264 s alone on 2026-12-06, over 420 s twice under the sampler
    }, 600_000);

    it("rerun: nothing changes, the CIB is not rewritten, no resource restarts", async () => {
      const epoch = await cibEpoch("cp1");
      const since = await Promise.all(
        CPS.map((h) => sh(h, "systemctl show -p ActiveEnterTimestamp --value haproxy")),
      );
      const holder = holders();
      const r = await up();
      expect(r.code, r.stderr).toBe(0);
      expect(changes(r.stdout)).toEqual([]);
      expect(Object.values(jsonSummary(r.stdout).hosts).map((h) => h.changed)).toEqual([0, 0, 0]);
      expect(await cibEpoch("cp1")).toBe(epoch);
      expect(
        await Promise.all(CPS.map((h) => sh(h, "systemctl show -p ActiveEnterTimestamp --value haproxy"))),
      ).toEqual(since);
      expect(holders()).toEqual(holder);
    }, 120_000);

    it("drift: a constraint deleted with pcs and haproxy.cfg edited — plan names exactly those, up restores exactly those", async () => {
      await sh("cp2", "pcs constraint delete colocate-vip-with-haproxy");
      await sh("cp3", "echo '# hand edit' >> /etc/haproxy/haproxy.cfg");
      const expected = [
        "cp1 pacemaker cluster: resources",
        "cp3 cluster stack: haproxy.cfg",
        "cp3 cluster stack: handler reload haproxy",
      ].sort();
      const plan = await haprov(["plan", "-i", inv, "--json"]);
      expect(plan.code, plan.stdout.slice(-2000)).toBe(2);
      expect(changes(plan.stdout)).toEqual(expected);
      const r = await up();
      expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
      expect(changes(r.stdout)).toEqual(expected);
      expect(await sh("cp1", "cibadmin --query --scope constraints")).toMatch(
        /rsc_colocation[^>]*id="colocate-vip-with-haproxy"/,
      );
      expect(await sh("cp3", "grep -c 'hand edit' /etc/haproxy/haproxy.cfg || true")).toBe("0");
      expect(changes((await up()).stdout)).toEqual([]);
    }, 120_000);

    it("haproxy killed repeatedly on the VIP node: after migration-threshold (2) failures the VIP goes to another node", async () => {
      const [holder] = holders();
      let kills = 0;
      // kill it, let Pacemaker's monitor (every 5 s) notice and restart it, again, until it gives up
      while (holders()[0] === holder && kills < 5) {
        await waitFor(
          "haproxy running on the holder",
          async () => (await sh(holder!, "systemctl is-active haproxy || true")) === "active",
          30_000,
        );
        await sh(holder!, "systemctl kill -s KILL haproxy");
        kills += 1;
        await waitFor(
          "Pacemaker to react",
          async () =>
            holders()[0] !== holder ||
            (await sh(holder!, "systemctl is-active haproxy || true")) === "active",
          30_000,
        );
      }
      await waitFor(
        "the VIP on another node",
        () => holders().length === 1 && holders()[0] !== holder,
        30_000,
      );
      console.log(`the VIP left ${holder} after ${kills} haproxy failures`);
      expect(kills).toBe(2);
      expect(await get200(vipUrl)).toBe(true);
      // the operator clears the failures (what failure-timeout does after a minute)
      await sh(holder!, "pcs resource cleanup haproxy-clone >/dev/null");
      await waitFor(
        "haproxy running there again",
        async () => (await sh(holder!, "systemctl is-active haproxy || true")) === "active",
      );
    }, 180_000);

    it("hard kill of the VIP node: the VIP and the API come back on another node; the node rejoins on its own", async () => {
      const [holder] = holders();
      const prober = startProber(vipUrl, 20);
      await new Promise((res) => setTimeout(res, 500));
      const killedAt = Date.now();
      lab.kill(holder!);
      await waitFor(
        "a request through the VIP to succeed",
        () => prober.firstOkAfter(killedAt + 50) !== undefined,
        60_000,
      );
      await prober.stop();
      console.log(
        `pacemaker failover after a hard kill of ${holder}: requests succeed again after ${prober.firstOkAfter(killedAt + 50)} ms`,
      );
      expect(holders(CPS.filter((h) => h !== holder))).toHaveLength(1);
      await lab.start(holder!);
      await waitFor(`${holder} online in the cluster again`, async () =>
        new RegExp(`<node name="${holder}" [^>]*online="true"`).test(await crm(holder!)),
      );
      const r = await up();
      expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    }, 240_000);

    it("a second up while a node is down keeps the cluster: nothing is set up again", async () => {
      const conf = await sh("cp1", "sha256sum /etc/corosync/corosync.conf");
      await lab.stop("cp3");
      const r = await up();
      expect(r.code).toBe(1);
      expect(jsonSummary(r.stdout).hosts.cp3!.unreachable).toBe(true);
      expect(
        changes(r.stdout).filter((c) => /create the cluster|join the cluster|leave Debian/.test(c)),
      ).toEqual([]);
      expect(await sh("cp1", "sha256sum /etc/corosync/corosync.conf")).toBe(conf);
      expect(await crm("cp1")).toContain('with_quorum="true"');
      expect(await get200(vipUrl)).toBe(true);
      await lab.start("cp3");
      await waitFor("cp3 online again", async () =>
        /<node name="cp3" [^>]*online="true"/.test(await crm("cp1")),
      );
      const back = await up();
      expect(back.code, back.stderr + back.stdout.slice(-2000)).toBe(0);
    }, 240_000);

    it("node remove of the VIP node: standby first, requests every 20 ms through the VIP; it leaves etcd, Kubernetes and Pacemaker; up without it changes nothing; added back, it joins again (#21)", async () => {
      const [holder] = await holders();
      const rest = CPS.filter((h) => h !== holder);
      const cluster =
        'pacemaker: { fencing: disabled, token: 2000, haclusterPassword: "${HAPROV_TEST_HACLUSTER_PW}" }';
      const prober = startProber(vipUrl, 20);
      const t0 = Date.now();
      const r = await haprov(["node", "remove", holder!, "-i", inv, "-y", "--json"]);
      const took = Date.now() - t0;
      await new Promise((res) => setTimeout(res, 500));
      const results = await prober.stop();
      console.log(
        `pacemaker: node remove ${holder} (VIP node): ${(took / 1000).toFixed(1)} s, ${prober.failed()} of ${results.length} requests through the VIP failed`,
      );
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(HACLUSTER_PW);
      const mon = await crm(rest[0]!);
      expect(mon).toContain('with_quorum="true"');
      expect(mon).not.toContain(`<node name="${holder}"`);
      expect(await holders()).toHaveLength(1);
      expect(await holders([holder!])).toEqual([]);
      expect(
        await sh(
          rest[0]!,
          "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort | tr '\\n' ' '",
        ),
      ).toBe(`${rest.map((n) => `node/${n}`).join(" ")}`);
      expect(await sh(holder!, "systemctl is-active corosync pacemaker haproxy | sort -u")).toBe("inactive");
      expect(await get200(vipUrl)).toBe(true);
      // Pacemaker stops the VIP on the node, then starts it on another (IPaddr2 stop, start,
      // gratuitous ARP): requests sent in between get no answer. Measured: ~20 in one window of
      // ~0.4 s, the whole cost of the removal; the goal of none is not met in this mode. A node
      // reset before the VIP left it would cost seconds: 50 failures is one second's worth.
      expect(prober.failed(), `failed at ${prober.failedAt().join(", ")}`).toBeLessThanOrEqual(50);

      const two = lab.inventory({
        mode: "pacemaker",
        roles: Object.fromEntries(rest.map((h) => [h, "control-plane"])),
        cluster,
      });
      const next = await haprov(["up", "-i", two, "-y", "--json"]);
      expect(next.code, next.stderr + next.stdout.slice(-2000)).toBe(0);
      expect(changes(next.stdout)).toEqual([]);

      // replaced: the removed host, reset, joins as a new member
      const back = await up();
      expect(back.code, back.stderr + back.stdout.slice(-3000)).toBe(0);
      await waitFor(`${holder} online in the cluster again`, async () =>
        new RegExp(`<node name="${holder}" [^>]*online="true"`).test(await crm(rest[0]!)),
      );
      expect(await holders()).toHaveLength(1);
    }, 400_000);

    it("a dead node removed with --unreachable: pcs drops it from the survivors (--skip-offline --force, behind the corosync quorum guard), etcd and Kubernetes too; up without it changes nothing (#21)", async () => {
      const [holder] = await holders();
      const dead = CPS.filter((h) => h !== holder).at(-1)!;
      const rest = CPS.filter((h) => h !== dead);
      lab.kill(dead);
      const r = await haprov(["node", "remove", dead, "-i", inv, "--unreachable", "-y", "--json"]);
      const failed = r.stdout.split("\n").filter((l) => l.includes('"status":"failed"'));
      expect(r.code, r.stderr + failed.join("\n") + r.stdout.slice(-2000)).toBe(0);
      const mon = await crm(rest[0]!);
      expect(mon).toContain('with_quorum="true"');
      expect(mon).not.toContain(`<node name="${dead}"`);
      expect(await sh(rest[0]!, "corosync-cmapctl -b nodelist.node | grep -c '\\.name '")).toBe("2");
      expect(
        await sh(
          rest[0]!,
          "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort | tr '\\n' ' '",
        ),
      ).toBe(rest.map((n) => `node/${n}`).join(" "));
      expect(await get200(vipUrl)).toBe(true);
      const two = lab.inventory({
        mode: "pacemaker",
        roles: Object.fromEntries(rest.map((h) => [h, "control-plane"])),
        cluster:
          'pacemaker: { fencing: disabled, token: 2000, haclusterPassword: "${HAPROV_TEST_HACLUSTER_PW}" }',
      });
      const next = await haprov(["up", "-i", two, "-y", "--json"]);
      expect(next.code, next.stderr + next.stdout.slice(-2000)).toBe(0);
      expect(changes(next.stdout)).toEqual([]);
    }, 300_000);
  },
);
