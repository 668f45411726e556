import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haprov, jsonSummary } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";
import { steadyFailures } from "../helpers/prober.js";

/**
 * Design E end to end (issue #14): a static etcd cluster with TLS (Debian's real etcd 3.4) on three
 * control-plane hosts, kubeadm (stand-in) with external etcd, and a real haproxy — then a real nginx
 * — on 127.0.0.1:7443 of every node, the worker included. One lab, scenarios in order.
 */
type Ev = { event: string; host?: string; phase?: string; step?: string; handler?: string; status?: string };
const changes = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev)
    .filter((e) => (e.event === "step" || e.event === "handler") && e.status === "changed")
    .map((e) => `${e.host} ${e.phase}: ${e.step ?? `handler ${e.handler}`}`)
    .sort();

const CPS = ["cp1", "cp2", "cp3"];
const NODES = [...CPS, "w1"];
/** Two more hosts, in the inventory only for the last scenario: the etcd cluster grows to five. */
const GROWN = ["e4", "e5"];
const ROLES = {
  cp1: "control-plane, etcd",
  cp2: "control-plane, etcd",
  cp3: "control-plane, etcd",
  w1: "worker",
} as const;
const PKI = "/etc/etcd/pki";
const ADMIN = "kubectl --kubeconfig /etc/kubernetes/admin.conf";

describe.runIf(dockerAvailable())(
  "etcd-local-proxy: static etcd with TLS and a local API proxy on every node",
  () => {
    let lab: Lab;
    let inv: string;
    const up = (file = inv) => haprov(["up", "-i", file, "-y", "--json"]);
    const sh = async (host: string, cmd: string) => (await lab.exec(host, cmd)).output.trim();
    const endpoints = () => CPS.map((h) => `https://${lab.host(h).address}:2379`).join(",");
    const etcdctl = (eps = endpoints()) =>
      `ETCDCTL_API=3 etcdctl --endpoints=${eps} --cacert ${PKI}/ca.crt --cert ${PKI}/server.crt --key ${PKI}/server.key --dial-timeout=2s --command-timeout=5s`;
    const viaProxy = (h: string) =>
      sh(h, "curl -sk --max-time 3 -o /dev/null -w '%{http_code}' https://127.0.0.1:7443/healthz");
    const bootstraps = (h: string) =>
      sh(h, "journalctl -u etcd --no-pager -o cat | grep -c 'ETCD_INITIAL_CLUSTER_STATE=new' || true");
    const started = (hosts: string[], units: string) =>
      Promise.all(
        hosts.map((h) => sh(h, `systemctl show -p ActiveEnterTimestamp --value ${units} | tr '\\n' '|'`)),
      );
    const waitFor = async (what: string, fn: () => Promise<boolean>, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!(await fn())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    /**
     * On every node at once, GET /healthz through its own proxy every 100 ms for `seconds`, while
     * `during` runs; returns each node's failures and how many requests it made.
     */
    const probeAll = async (seconds: number, during: () => Promise<void>) => {
      const loop = `n=0; f=0; end=$(( $(date +%s) + ${seconds} )); while [ $(date +%s) -lt $end ]; do c=$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' https://127.0.0.1:7443/healthz 2>/tmp/probe.err || echo " curl-exit-$?"); n=$((n+1)); [ "$c" = 200 ] || { f=$((f+1)); echo "$(date +%T.%N) $c $(cat /tmp/probe.err)" >> /tmp/probe-failures.log; }; sleep 0.1; done; echo "$n $f"`;
      const runs = Promise.all(NODES.map((h) => sh(h, loop)));
      await new Promise((r) => setTimeout(r, 1000));
      await during();
      const out = await runs;
      // what a failed probe got (HTTP code or curl's error), for the log
      for (const h of NODES) {
        const failures = await sh(
          h,
          "cat /tmp/probe-failures.log 2>/dev/null; rm -f /tmp/probe-failures.log",
        );
        if (failures)
          console.log(
            `${h}: failed probes\n${failures}\n${await sh(h, "journalctl -u haproxy -u nginx -u 'kubelet-pod-kube-apiserver' -o short-precise --no-pager --since '-40s' | grep -v 'Stopping\\|Stopped\\|Started\\|serving on' | tail -n 12; true")}`,
          );
      }
      return Object.fromEntries(NODES.map((h, i) => [h, out[i]!.split(" ").map(Number) as [number, number]]));
    };
    /** The API server of `h` stopped for good (the kubelet, which would start it again, first). */
    const stopApiserver = async (h: string) => {
      await sh(h, "systemctl stop kubelet && systemctl stop kubelet-pod-kube-apiserver");
    };
    const startApiserver = async (h: string) => {
      await sh(h, "systemctl start kubelet");
      await waitFor(
        `${h}'s API server`,
        async () =>
          (await sh(
            h,
            `curl -sk -o /dev/null -w '%{http_code}' https://${lab.host(h).address}:6443/readyz`,
          )) === "200",
        60_000,
      );
    };

    beforeAll(async () => {
      lab = await startLab({ names: [...NODES, ...GROWN] });
      inv = lab.inventory({ mode: "etcd-local-proxy", roles: ROLES, cluster: "lbPort: 7443" });
    }, 180_000);
    afterAll(async () => lab?.destroy());

    it("fresh up: three etcd members healthy over TLS (and refused without a client certificate), every node answers through 127.0.0.1:7443, every node joined", async () => {
      const t0 = Date.now();
      const r = await up();
      console.log(`etcd-local-proxy: bring-up of 4 fresh hosts ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // up returned once the operator's endpoint (cp1's API server here) answered steadily (#19)
      expect(await steadyFailures(`https://${lab.host("cp1").address}:6443/healthz`)).toBe(0);
      const members = await sh("cp1", `${etcdctl()} member list -w simple`);
      expect(
        members
          .split("\n")
          .map((l) => l.split(", ").slice(1, 3).join(" "))
          .sort(),
      ).toEqual(["started cp1", "started cp2", "started cp3"]);
      expect(await sh("cp1", `${etcdctl()} endpoint health --cluster 2>&1`)).toMatch(
        /^(https:\/\/\S+:2379 is healthy.*\n?){3}$/,
      );
      // client-cert-auth: a client with the CA but no certificate of its own is refused
      const anonymous = await lab.exec(
        "w1",
        `curl -s --max-time 3 --cacert /dev/null -k https://${lab.host("cp1").address}:2379/health`,
      );
      expect(anonymous.exitCode).not.toBe(0);
      const noCert = await lab.exec(
        "cp1",
        `ETCDCTL_API=3 etcdctl --endpoints=https://${lab.host("cp2").address}:2379 --cacert ${PKI}/ca.crt --dial-timeout=2s --command-timeout=3s endpoint health`,
      );
      expect(noCert.exitCode).not.toBe(0);
      // the CA key is on one host only; the API servers read etcd with their own client certificate
      expect(await sh("cp1", `test -f ${PKI}/ca.key && echo yes`)).toBe("yes");
      for (const h of ["cp2", "cp3", "w1"])
        expect(await sh(h, `test -e ${PKI}/ca.key && echo yes || echo no`)).toBe("no");
      expect(await sh("w1", "test -e /etc/etcd && echo yes || echo no")).toBe("no");
      for (const h of CPS) {
        expect(await sh(h, "stat -c %a /etc/kubernetes/pki/apiserver-etcd-client.key")).toBe("600");
        expect(
          await sh(h, "grep -o 'etcd-servers=[^ \"]*' /etc/kubernetes/manifests/kube-apiserver.yaml"),
        ).toBe(`etcd-servers=${endpoints()}`);
      }
      for (const h of NODES) {
        expect(await viaProxy(h), h).toBe("200");
        expect(await sh(h, "grep -h server: /etc/kubernetes/kubelet.conf")).toContain(
          "https://127.0.0.1:7443",
        );
        expect(await sh(h, "haproxy -c -q -f /etc/haproxy/haproxy.cfg && echo valid")).toBe("valid");
      }
      const nodes = await sh("cp1", `${ADMIN} get nodes`);
      for (const n of NODES) expect(nodes).toMatch(new RegExp(`^${n}\\s+Ready`, "m"));
      const status = await haprov(["status", "-i", inv]);
      expect(status.code, status.stdout).toBe(0);
      expect(status.stdout).toMatch(/etcd 3\/3 healthy, leader cp\d/);
      const kc = await haprov(["kubeconfig", "-i", inv, "-o", `${lab.dir}/kubeconfig`]);
      expect(kc.code, kc.stderr).toBe(0);
      expect(kc.stdout).toContain(`server https://${lab.host("cp1").address}:6443: the API server of cp1`);
    }, 600_000);

    it("rerun: a key written before is still there, nothing changes or restarts, and no member bootstraps twice", async () => {
      await sh("cp1", `${etcdctl()} put /haprov-test/before-rerun kept`);
      const before = await started(CPS, "etcd haproxy");
      const r = await up();
      expect(r.code, r.stderr).toBe(0);
      expect(changes(r.stdout)).toEqual([]);
      expect(Object.values(jsonSummary(r.stdout).hosts).every((h) => h.changed === 0)).toBe(true);
      expect(await started(CPS, "etcd haproxy")).toEqual(before);
      expect(await sh("cp2", `${etcdctl()} get --print-value-only /haprov-test/before-rerun`)).toBe("kept");
      // a member restarted reads no initial-cluster-state any more
      await sh("cp2", "systemctl restart etcd");
      for (const h of CPS) expect(await bootstraps(h), h).toBe("1");
      expect(await sh("cp2", "grep -c '^ETCD_INITIAL_CLUSTER' /etc/default/etcd || true")).toBe("1"); // the token only
    }, 180_000);

    it("one etcd member stopped: reads and writes go on through the others; drift (proxy config on the worker, that member) is named by plan and fixed by up", async () => {
      await sh("cp3", "systemctl stop etcd");
      await sh("w1", "echo '# hand edit' >> /etc/haproxy/haproxy.cfg");
      const two = CPS.slice(0, 2)
        .map((h) => `https://${lab.host(h).address}:2379`)
        .join(",");
      expect(await sh("cp1", `${etcdctl(two)} put /haprov-test/with-two yes`)).toBe("OK");
      expect(await sh("cp1", `${ADMIN} -n default create configmap while-cp3-etcd-down -o name`)).toContain(
        "while-cp3-etcd-down",
      );
      expect(await viaProxy("w1")).toBe("200");
      const expected = [
        "cp3 etcd cluster: etcd running",
        "w1 local proxy: handler reload haproxy",
        "w1 local proxy: haproxy.cfg",
      ];
      const plan = await haprov(["plan", "-i", inv, "--json"]);
      expect(plan.code).toBe(2);
      expect(changes(plan.stdout).filter((c) => !c.endsWith("etcd cluster healthy"))).toEqual(expected);
      const r = await up();
      expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
      expect(changes(r.stdout).filter((c) => !c.endsWith("etcd cluster healthy"))).toEqual(expected);
      expect(
        await sh(
          "cp3",
          `${etcdctl(`https://${lab.host("cp3").address}:2379`)} get --print-value-only /haprov-test/with-two`,
        ),
      ).toBe("yes");
      expect(await sh("w1", "grep -c 'hand edit' /etc/haproxy/haproxy.cfg || true")).toBe("0");
      expect((await up()).stdout).not.toContain('"status":"changed"');
    }, 240_000);

    it("an API server stopped: every node's haproxy takes it out of rotation, and no request fails but one the dying server had queued", async () => {
      const t0 = Date.now();
      let leftAt: number[] = [];
      const results = await probeAll(8, async () => {
        await stopApiserver("cp2");
        leftAt = await Promise.all(
          NODES.map(async (h) => {
            await waitFor(`${h}'s haproxy to mark cp2 down`, async () =>
              (
                await sh(
                  h,
                  "curl -s http://127.0.0.1:8404/stats\\;csv | awk -F, '$2 == \"cp2\" { print $18 }'",
                )
              ).startsWith("DOWN"),
            );
            return Date.now() - t0;
          }),
        );
      });
      console.log(
        `etcd-local-proxy (haproxy): cp2 out of every node's rotation after ≤ ${Math.max(...leftAt) - 1000} ms; probes ${JSON.stringify(results)}`,
      );

      for (const h of NODES) {
        expect(results[h]![0], h).toBeGreaterThan(20);
        // At most the one connection the kernel had queued on the server when it stopped: its
        // listener closes and resets it mid-handshake (curl exit 35, printed above), after the
        // proxy had already handed it over, so no proxy can retry it. The real kube-apiserver
        // closes its listener the same way (kubeadm sets no shutdown delay); a planned removal
        // takes the backend out of rotation first.
        expect(results[h]![1], h).toBeLessThanOrEqual(1);
      }
      await startApiserver("cp2");
    }, 120_000);

    it("proxy: nginx — every node switches to nginx's stream proxy, haproxy is stopped, a rerun changes nothing, a stopped API server costs at most the one request it had queued", async () => {
      const nginxInv = lab.inventory({
        mode: "etcd-local-proxy",
        roles: ROLES,
        cluster: "lbPort: 7443, localProxy: { proxy: nginx }",
      });
      const r = await up(nginxInv);
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      for (const h of NODES) {
        expect(await viaProxy(h), h).toBe("200");
        expect(
          await sh(h, "systemctl is-active nginx; systemctl is-active haproxy; systemctl is-enabled haproxy"),
        ).toBe("active\ninactive\ndisabled");
        expect(await sh(h, "nginx -t -q && echo valid")).toBe("valid");
      }
      const again = await up(nginxInv);
      expect(again.code).toBe(0);
      expect(changes(again.stdout)).toEqual([]);
      const results = await probeAll(6, () => stopApiserver("cp3"));
      console.log(
        `etcd-local-proxy (nginx): probes while cp3's API server stopped ${JSON.stringify(results)}`,
      );
      for (const h of NODES) {
        expect(results[h]![0], h).toBeGreaterThan(15);
        // At most the one connection the kernel had queued on the server when it stopped: its
        // listener closes and resets it mid-handshake (curl exit 35, printed above), after the
        // proxy had already handed it over, so no proxy can retry it. The real kube-apiserver
        // closes its listener the same way (kubeadm sets no shutdown delay); a planned removal
        // takes the backend out of rotation first.
        expect(results[h]![1], h).toBeLessThanOrEqual(1);
      }
      await startApiserver("cp3");
    }, 300_000);
    // last: it restarts etcd members, whose elections would disturb the rotation scenarios above
    it("quorum guard: with one member paused, a restart of another member is refused and names the paused one; once it is back, the owed restart runs (#19)", async () => {
      await sh("cp3", "systemctl kill -s STOP etcd");
      await sh("cp1", "echo '# hand edit' >> /etc/default/etcd");
      const before = await started(["cp1"], "etcd");
      const r = await up();
      expect(r.code).toBe(1);
      const failure = jsonSummary(r.stdout).failures.find((f) => f.host === "cp1");
      expect(failure?.step).toBe("handler: restart etcd");
      expect(failure?.message).toMatch(
        /restart etcd not run on cp1: stopping cp1 in etcd would leave 1 healthy of 3 member\(s\), fewer than the majority of 2; unhealthy: cp3/,
      );
      expect(await started(["cp1"], "etcd")).toEqual(before); // not restarted
      expect(
        await sh(
          "cp2",
          `${etcdctl(`https://${lab.host("cp2").address}:2379`)} put /haprov-test/quorum-kept yes`,
        ),
      ).toBe("OK");

      await sh("cp3", "systemctl kill -s CONT etcd");
      await waitFor(
        "cp3's member to answer again",
        async () =>
          (await sh("cp1", `${etcdctl()} endpoint health 2>&1 | grep -c 'is healthy' || true`)) === "3",
      );
      const again = await up();
      expect(again.code, again.stderr + again.stdout.slice(-2000)).toBe(0);
      expect(changes(again.stdout)).toContain("cp1 etcd members: handler restart etcd");
      expect(await started(["cp1"], "etcd")).not.toEqual(before);
    }, 180_000);

    it("node remove: the host with the only copy of the etcd CA's key is refused (status warns about it); the worker leaves — drained, reset, its proxy gone, its Node deleted — and up joins it again (#21)", async () => {
      const status = await haprov(["status", "-i", inv]);
      expect(status.stdout).toContain("warning: the etcd CA's key is only on cp1 (/etc/etcd/pki/ca.key)");
      const keeper = await haprov(["node", "remove", "cp1", "-i", inv, "-y", "--json"]);
      expect(keeper.code).toBe(1);
      expect(keeper.stdout + keeper.stderr).toMatch(
        /refusing to remove cp1: it keeps the only copy of the etcd CA's key/,
      );
      // refused before anything changed: no step of the removal ran
      expect(changes(keeper.stdout)).toEqual([]);
      expect(await sh("cp1", `${etcdctl()} member list | wc -l`)).toBe("3");

      const r = await haprov(["node", "remove", "w1", "-i", inv, "-y", "--json"]);
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(await sh("cp1", `${ADMIN} get nodes -o name`)).not.toContain("node/w1");
      expect(
        await sh(
          "w1",
          "systemctl is-enabled haproxy; ls /etc/kubernetes/kubelet.conf 2>&1 | grep -c 'No such'",
        ),
      ).toBe("disabled\n1");
      // the etcd members are untouched by a worker's removal
      expect(await sh("cp1", `${etcdctl()} member list | wc -l`)).toBe("3");
      const back = await up();
      expect(back.code, back.stderr + back.stdout.slice(-3000)).toBe(0);
      expect(await sh("cp1", `${ADMIN} get nodes -o name`)).toContain("node/w1");
    }, 240_000);

    it("etcd grows from 3 to 5: e4 and e5 are added and started one at a time, a rerun changes nothing; a member whose data was wiped is removed and added again under a new ID (#21)", async () => {
      const grown = lab.inventory({
        mode: "etcd-local-proxy",
        roles: { ...ROLES, e4: "etcd", e5: "etcd" },
        cluster: "lbPort: 7443",
      });
      const one = etcdctl(`https://${lab.host("cp1").address}:2379`);
      await sh("cp1", `${one} put grow-check kept`);
      const members = async () =>
        (await sh("cp1", `${one} member list`))
          .split("\n")
          .map((l) => l.split(", "))
          .map(([, status, name]) => `${name} ${status}`)
          .sort();
      const FIVE = ["cp1", "cp2", "cp3", "e4", "e5"].map((n) => `${n} started`);
      const keptOnE5 = () =>
        sh("e5", `${etcdctl(`https://${lab.host("e5").address}:2379`)} get grow-check --print-value-only`);
      const plan = await haprov(["plan", "-i", grown]);
      expect(plan.code, plan.stdout).toBe(2);
      expect(plan.stdout).toMatch(/add e4 \(https:\/\/[0-9.]+:2380\) to the etcd cluster of 3 member\(s\)/);
      const r = await up(grown);
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      const grew = changes(r.stdout);
      expect(grew).toContain("e4 etcd members added: etcd member added");
      expect(grew).toContain("e5 etcd members added: etcd member added");
      // one at a time: e4 was healthy before e5 was added (the serial phase's events, in order)
      const order = r.stdout
        .split("\n")
        .filter((l) => l.includes('"phase":"etcd members added"') && l.includes('"status":"changed"'))
        .map((l) => (JSON.parse(l) as Ev).host);
      expect(order).toEqual(["e4", "e4", "e5", "e5"]);
      expect(await members()).toEqual(FIVE);
      expect(await sh("cp1", `${one} endpoint health --cluster 2>&1 | grep -c 'is healthy'`)).toBe("5");
      expect(await keptOnE5()).toBe("kept");
      for (const h of GROWN) expect(await bootstraps(h)).toBe("0");

      const again = await up(grown);
      expect(again.code, again.stderr).toBe(0);
      expect(changes(again.stdout)).toEqual([]);

      // e5's data is lost: it must not start under its old member ID with an empty log
      const idOf = async (name: string) =>
        (await sh("cp1", `${one} member list | grep ', ${name}, ' | cut -d, -f1`)).trim();
      const oldId = await idOf("e5");
      await sh("e5", "systemctl stop etcd && rm -rf /var/lib/etcd/default");
      const fixed = await up(grown);
      expect(fixed.code, fixed.stderr + fixed.stdout.slice(-3000)).toBe(0);
      expect(changes(fixed.stdout)).toContain("e5 etcd members added: etcd member added");
      const newId = await idOf("e5");
      expect(newId).toMatch(/^[0-9a-f]+$/);
      expect(newId).not.toBe(oldId);
      expect(await members()).toEqual(FIVE);
      expect(await keptOnE5()).toBe("kept");

      // e5 leaves again, for good: its member removed from the acting control-plane node, etcd
      // stopped and masked on it, its data moved aside (kept), its credentials gone — with its
      // copy of the CA's key too (made here: deleted behind the "kept elsewhere" guard, cp1 keeps one)
      const key = await sh("cp1", `base64 -w0 ${PKI}/ca.key`);
      await sh("e5", `umask 077 && printf %s ${key} | base64 -d > ${PKI}/ca.key`);
      const gone = await haprov(["node", "remove", "e5", "-i", grown, "-y", "--json"]);
      expect(gone.code, gone.stderr + gone.stdout.slice(-3000)).toBe(0);
      expect(await members()).toEqual(["cp1 started", "cp2 started", "cp3 started", "e4 started"]);
      expect(
        await sh(
          "e5",
          "systemctl is-enabled etcd; ls -d /var/lib/etcd/default.removed-* | wc -l; ls /etc/etcd/pki",
        ),
      ).toBe("masked\n1\nca.crt");
      expect(await sh("cp1", `test -s ${PKI}/ca.key && echo kept`)).toBe("kept");
      expect(await sh("cp1", `${one} get grow-check --print-value-only`)).toBe("kept");
      // the inventory without e5 (4 members: warned, not refused) finds nothing to do
      const four = lab.inventory({
        mode: "etcd-local-proxy",
        roles: { ...ROLES, e4: "etcd" },
        cluster: "lbPort: 7443",
      });
      const after = await up(four);
      expect(after.code, after.stderr + after.stdout.slice(-3000)).toBe(0);
      expect(changes(after.stdout)).toEqual([]);
    }, 300_000);
  },
);
