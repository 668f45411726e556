import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changedSteps, haprov, jsonEvents, jsonSummary } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab, waitUntil } from "../helpers/lab.js";
import { kubectlsToTry } from "../helpers/kubectl.js";
import { get200, startProber, steadyFailures } from "../helpers/prober.js";

/**
 * Design A end to end on real systemd hosts: real keepalived (VRRP between the containers), real
 * haproxy, real sshd; kubeadm/kubelet/kubectl and the API server are the stand-ins of
 * docker/testhost/standin (docker/README.md says what they do and do not do).
 * One lab, scenarios in order: each starts from the state the previous one left.
 */
const events = jsonEvents;
const changes = changedSteps;

const CPS = ["cp1", "cp2", "cp3"];
const ETCDCTL =
  "ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key";

describe.runIf(dockerAvailable())(
  "keepalived-haproxy: haprov up builds and keeps an HA control plane",
  () => {
    let lab: Lab;
    let inv: string;
    let vipUrl: string;
    const out = mkdtempSync(join(tmpdir(), "haprov-ka-"));
    const up = (file = inv, ...args: string[]) => haprov(["up", "-i", file, "-y", "--json", ...args]);
    const sh = async (host: string, cmd: string) => (await lab.exec(host, cmd)).output.trim();
    const holders = async (hosts = CPS) => {
      const held = await Promise.all(
        hosts.map(
          async (h) =>
            (await lab.exec(h, `ip -4 -o addr show | grep -q ' ${lab.subnet.vip}/'`)).exitCode === 0,
        ),
      );
      return hosts.filter((_, i) => held[i]);
    };
    const waitFor = (what: string, fn: () => boolean | Promise<boolean>, ms = 30_000) =>
      waitUntil(what, fn, ms, 200);
    const started = (hosts: string[]) =>
      Promise.all(
        hosts.map((h) =>
          sh(h, "systemctl show -p ActiveEnterTimestamp --value haproxy keepalived kubelet | tr '\\n' '|'"),
        ),
      );

    beforeAll(async () => {
      lab = await startLab({ names: ["cp1", "cp2", "cp3", "w1", "cp4"] });
      inv = lab.inventory({
        roles: { cp1: "control-plane", cp2: "control-plane", cp3: "control-plane", w1: "worker" },
      });
      vipUrl = `https://${lab.subnet.vip}:8443/healthz`;
    }, 180_000);
    afterAll(async () => {
      await lab?.destroy();
      rmSync(out, { recursive: true, force: true });
    });

    it("fresh up: one VIP holder, /healthz through the VIP, every node joined, configs valid, modes right, no secret printed", async () => {
      const r = await up();
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // up returned once the endpoint was steady: 20 requests in the next 5 s all succeed (#19)
      expect(await steadyFailures(vipUrl)).toBe(0);

      expect(await holders()).toHaveLength(1);
      expect(await holders(["w1"])).toEqual([]);
      expect(await get200(vipUrl)).toBe(true);
      const nodes = await sh("cp2", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes");
      expect(await sh("cp2", "grep server: /etc/kubernetes/admin.conf")).toContain(
        `https://${lab.subnet.vip}:8443`,
      );
      for (const n of [...CPS, "w1"]) expect(nodes).toMatch(new RegExp(`^${n}\\s+Ready`, "m"));
      expect(nodes).not.toMatch(/^cp4/m);

      for (const h of CPS) {
        const ha = await lab.exec(h, "haproxy -c -f /etc/haproxy/haproxy.cfg");
        expect(ha.exitCode, ha.output).toBe(0);
        // keepalived -t: exit 0 and nothing on stderr (it only warns about many mistakes)
        const ka = await lab.exec(h, "keepalived -t -f /etc/keepalived/keepalived.conf 2>&1 >/dev/null");
        expect([ka.exitCode, ka.output]).toEqual([0, ""]);
        expect(
          await sh(
            h,
            "stat -c '%n %a %U' /etc/keepalived/keepalived.conf /etc/keepalived/check_apiserver.sh /etc/haproxy/haproxy.cfg",
          ),
        ).toBe(
          "/etc/keepalived/keepalived.conf 640 root\n/etc/keepalived/check_apiserver.sh 755 root\n/etc/haproxy/haproxy.cfg 644 root",
        );
        expect(await sh(h, "grep -c '^    server ' /etc/haproxy/haproxy.cfg")).toBe("3");
        expect(await sh(h, "test -e /etc/haprov/kubeadm-join.yaml && echo left || echo gone")).toBe("gone");
      }
      // the PKI copied to the joining nodes: same bytes as on the init node, 0600 root
      const files =
        "ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key";
      const sums = `cd /etc/kubernetes/pki && sha256sum ${files}`;
      expect(await sh("cp2", sums)).toBe(await sh("cp1", sums));
      expect(await sh("cp3", `cd /etc/kubernetes/pki && stat -c '%a %U' ${files} | sort -u`)).toBe(
        "600 root",
      );
      // only the init node ran kubeadm init
      expect(await sh("cp2", "test -e /etc/haprov/kubeadm-init.yaml && echo yes || echo no")).toBe("no");

      // secrets the run handled never appear in what it printed
      const vrrp = await sh("cp1", "sed -n 's/^ *auth_pass *//p' /etc/keepalived/keepalived.conf");
      expect(vrrp).toMatch(/^[A-Za-z0-9]{8}$/);
      const tokens = (await sh("cp1", "kubeadm token list -o name 2>/dev/null || kubeadm token list"))
        .split(/\s+/)
        .filter((t) => /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(t));
      const caKey = await sh("cp1", "base64 -w0 /etc/kubernetes/pki/ca.key");
      for (const secret of [vrrp, ...tokens, caKey, caKey.slice(0, 40)])
        expect(r.stdout + r.stderr).not.toContain(secret);

      const status = await haprov(["status", "-i", inv]);
      expect(status.code, status.stdout).toBe(0);
      expect(status.stdout).toMatch(/healthy/);
    }, 300_000);

    it("rerun: nothing changes, nothing restarts, and plan exits 0", async () => {
      const before = await started(CPS);
      const r = await up();
      expect(r.code, r.stderr).toBe(0);
      expect(changes(r.stdout)).toEqual([]);
      expect(Object.values(jsonSummary(r.stdout).hosts).map((h) => h.changed)).toEqual([0, 0, 0, 0]);
      expect(await started(CPS)).toEqual(before);
      expect((await haprov(["plan", "-i", inv])).code).toBe(0);
    }, 120_000);

    it("kubelet.conf lost on a member: it is made again, never a join over its state; its etcd member stays (#19)", async () => {
      const members = () =>
        sh("cp2", `${ETCDCTL} member list | cut -d, -f1,3 | sort`).then((m) => m.split("\n"));
      const before = await members();
      expect(before).toHaveLength(3);
      await sh("cp3", "rm /etc/kubernetes/kubelet.conf");

      const plan = await haprov(["plan", "-i", inv, "--json"]);
      expect(plan.code).toBe(2);
      expect(changes(plan.stdout)).toEqual(["cp3 join control plane: kubeadm join --control-plane"]);
      const message = events(plan.stdout).find((e) => e.event === "step" && e.status === "changed")?.message;
      expect(message).toMatch(
        /^would make \/etc\/kubernetes\/kubelet\.conf again: cp3 is a member of the cluster/,
      );

      const r = await up();
      expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
      expect(await members()).toEqual(before);
      expect(await sh("cp3", "stat -c '%a %U' /etc/kubernetes/kubelet.conf")).toBe("600 root");
      // the kubeconfig is cp3's own node identity, signed by the cluster CA, through the VIP
      expect(
        await sh(
          "cp3",
          "grep client-certificate-data /etc/kubernetes/kubelet.conf | awk '{print $2}' | base64 -d | openssl x509 -noout -subject",
        ),
      ).toMatch(/O ?= ?system:nodes, CN ?= ?system:node:cp3/);
      expect(
        await sh(
          "cp3",
          "test -f /etc/kubernetes/manifests/etcd.yaml && test -d /var/lib/etcd/member && echo kept",
        ),
      ).toBe("kept");
      const again = await up();
      expect(changes(again.stdout)).toEqual([]);
    }, 120_000);

    it("real etcd holds the cluster: one member per control-plane node; the machine's real kubectl with the operator kubeconfig sees it through the VIP", async () => {
      const etcdctl =
        "ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key";
      const members = (await sh("cp2", `${etcdctl} member list`)).split("\n").map((l) => l.split(", "));
      // ID, status, name, peer URL, client URL, is-learner
      expect(members.map((m) => [m[1], m[2], m[5]]).sort()).toEqual(CPS.map((n) => ["started", n, "false"]));
      const health = await lab.exec("cp3", `${etcdctl} endpoint health --cluster`);
      expect(health.exitCode, health.output).toBe(0);
      expect(health.output.match(/is healthy/g)).toHaveLength(3);

      // haprov kubeconfig: the operator's admin kubeconfig, server = the VIP
      const kc = await haprov(["kubeconfig", "-i", inv]);
      expect(kc.code, kc.stderr).toBe(0);
      const file = join(out, "operator.conf");
      writeFileSync(file, kc.stdout, { mode: 0o600 });
      expect(kc.stdout).toContain(`server: https://${lab.subnet.vip}:8443`);
      await sh(
        "cp1",
        "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system create lease haprov-e2e 2>/dev/null || kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - <<'EOF'\napiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: haprov-e2e, namespace: kube-system}\nspec: {holderIdentity: cp1}\nEOF",
      );
      const minor = Number(readFileSync("docker/testhost/standin/VERSION", "utf8").split(".")[1]);
      const kubectls = kubectlsToTry(minor);
      expect(kubectls.length, "this machine has no real kubectl (dpkg -L kubectl)").toBeGreaterThan(0);
      for (const k of kubectls) {
        const run = (...args: string[]) =>
          execFileSync(
            k.path,
            ["--kubeconfig", file, "--cache-dir", join(out, `cache-${k.minor}`), ...args],
            {
              encoding: "utf8",
            },
          );
        const nodes = run("get", "nodes");
        for (const n of [...CPS, "w1"])
          expect(nodes, `kubectl 1.${k.minor}`).toMatch(new RegExp(`^${n}\\s+Ready\\s`, "m"));
        expect(run("get", "daemonset", "-n", "kube-flannel", "-o", "name")).toBe(
          "daemonset.apps/kube-flannel-ds\n",
        );
        expect(
          run(
            "get",
            "configmap",
            "kube-flannel-cfg",
            "-n",
            "kube-flannel",
            "-o",
            "jsonpath={.data.net-conf\\.json}",
          ),
        ).toContain('"Network": "10.244.0.0/16"');
        expect(
          run("get", "lease", "haprov-e2e", "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}"),
        ).toBe("cp1");
      }
    }, 120_000);

    it("output is for people: a converged rerun is at most 15 lines, -v gives every skip its reason, no {{ anywhere, no join token left", async () => {
      // the 3 control-plane nodes, as `haprov lab up` makes them (the worker is left out)
      const three = ["--limit", "cp1,cp2,cp3"];
      const plain = await haprov(["up", "-i", inv, "-y", ...three]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout.trim().split("\n").length, plain.stdout).toBeLessThanOrEqual(15);

      const verbose = await haprov(["up", "-i", inv, "-y", "-v", ...three]);
      const skips = verbose.stdout.split("\n").filter((l) => /: skipped /.test(l));
      expect(skips.length).toBeGreaterThan(10);
      for (const l of skips) expect(l).toMatch(/: skipped .+?: [a-z0-9].* \(\d+ ms\)$/);
      expect(verbose.stdout).toMatch(/\[init\] cp2: skipped kubeadm init: cp1 initialises the cluster/);
      expect(verbose.stdout).toMatch(
        /\[join control plane\] cp1: skipped pki ca\.key: cp1 initialised the cluster/,
      );

      const tty = (args: string[]) =>
        execFileSync(
          "script",
          ["-qec", `stty cols 120 rows 40; node bin/haprov.js ${args.join(" ")}`, "/dev/null"],
          {
            encoding: "utf8",
            env: { ...process.env, CI: "", TERM: "xterm" },
          },
        );
      const outputs = [
        plain.stdout,
        verbose.stdout,
        (await haprov(["up", "-i", inv, "-y", "--json"])).stdout,
        (await haprov(["plan", "-i", inv])).stdout,
        (await haprov(["plan", "-i", inv, "--json", "-v"])).stdout,
        (await haprov(["render", "-i", inv])).stdout,
        (await haprov(["render", "-i", inv, "--json"])).stdout,
        (await haprov(["status", "-i", inv])).stdout,
        (await haprov(["status", "-i", inv, "--json"])).stdout,
        tty(["up", "-i", inv, "-y"]),
        tty(["up", "-i", inv, "-y", "-v"]),
        tty(["status", "-i", inv]),
      ];
      for (const o of outputs) {
        expect(o.length).toBeGreaterThan(0);
        expect(o).not.toContain("{{");
      }
      // each join had its own bootstrap token, deleted after it: only kubeadm init's own is left
      const tokens = (await sh("cp1", "kubeadm token list")).split("\n").filter((l) => l.includes("expires"));
      expect(tokens).toHaveLength(1);
    }, 180_000);

    it("a saved plan applies exactly what it showed, and is refused once a host drifted after it was made (#19)", async () => {
      const [holder] = await holders();
      const other = CPS.find((h) => h !== holder)!;
      const file = join(out, "reviewed.plan.json");
      await sh(other, "echo '# edited before the plan' >> /etc/haproxy/haproxy.cfg");
      const plan = await haprov(["plan", "-i", inv, "-o", file]);
      expect(plan.code).toBe(2);
      const saved = readFileSync(file, "utf8");
      const vrrp = await sh("cp1", "sed -n 's/^ *auth_pass *//p' /etc/keepalived/keepalived.conf");
      expect(saved).not.toContain(vrrp);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // a drift made after the plan was reviewed: the apply is refused, nothing changes
      await sh(other, "systemctl stop keepalived");
      const cfg = await sh(other, "sha256sum /etc/haproxy/haproxy.cfg");
      const refused = await haprov(["up", "-i", inv, "--plan", file, "-y", "--json"]);
      expect(refused.code).toBe(1);
      expect(changes(refused.stdout)).toEqual([]);
      expect(refused.stdout).toContain(`${other} is not as it was when the plan was made`);
      expect(refused.stdout).toContain("service keepalived");
      expect(await sh(other, "sha256sum /etc/haproxy/haproxy.cfg")).toBe(cfg);

      // a plan of the state as it is now applies, and changes exactly what it showed
      const fresh = join(out, "fresh.plan.json");
      expect((await haprov(["plan", "-i", inv, "-o", fresh])).code).toBe(2);
      const applied = await haprov(["up", "-i", inv, "--plan", fresh, "-y", "--json"]);
      expect(applied.code, applied.stderr + applied.stdout.slice(-2000)).toBe(0);
      expect(changes(applied.stdout)).toEqual(
        [
          `${other} load balancer: haproxy.cfg`,
          `${other} load balancer: handler reload haproxy`,
          `${other} load balancer: keepalived running`,
        ].sort(),
      );
      // applied once: the hosts are no longer in the state it was made against
      expect((await haprov(["up", "-i", inv, "--plan", fresh, "-y"])).code).toBe(1);
    }, 120_000);

    it("drift: plan names exactly what drifted, up fixes exactly that, and the VIP answers throughout", async () => {
      const [holder] = await holders();
      const [a, b] = CPS.filter((h) => h !== holder) as [string, string];
      await sh(a, "echo '# hand edit' >> /etc/haproxy/haproxy.cfg");
      await sh(b, "systemctl stop keepalived");
      await sh(holder!, "sysctl -qw net.ipv4.ip_nonlocal_bind=0");
      const expected = [
        `${a} load balancer: haproxy.cfg`,
        `${a} load balancer: handler reload haproxy`,
        `${b} load balancer: keepalived running`,
        `${holder} load balancer: VIP sysctls`,
      ].sort();

      const plan = await haprov(["plan", "-i", inv, "--json"]);
      expect(plan.code).toBe(2);
      expect(changes(plan.stdout)).toEqual(expected);

      const before = await started(CPS);
      const prober = startProber(vipUrl);
      const r = await up();
      await new Promise((res) => setTimeout(res, 1000));
      await prober.stop();
      expect(r.code, r.stderr).toBe(0);
      expect(changes(r.stdout)).toEqual(expected);
      expect(prober.failed()).toBe(0);
      expect(prober.results.length).toBeGreaterThan(5);
      // only keepalived on b was (re)started; haproxy on a was reloaded, which keeps its start time
      const after = await started(CPS);
      CPS.forEach((h, i) => {
        if (h !== b) expect(after[i]).toBe(before[i]);
      });
      expect(await sh(holder!, "sysctl -n net.ipv4.ip_nonlocal_bind")).toBe("1");
      expect(await sh(a, "grep -c 'hand edit' /etc/haproxy/haproxy.cfg || true")).toBe("0");
    }, 120_000);

    it("haproxy stopped on the VIP holder: the check script moves the VIP; up starts haproxy again", async () => {
      const [holder] = await holders();
      await sh(holder!, "systemctl stop haproxy");
      await waitFor("the VIP to leave the node without haproxy", async () => {
        const now = await holders();
        return now.length === 1 && now[0] !== holder;
      });
      expect(await get200(vipUrl)).toBe(true);
      const r = await up();
      expect(r.code, r.stderr).toBe(0);
      expect(changes(r.stdout)).toEqual([`${holder} load balancer: haproxy running`]);
    }, 120_000);

    it("the VIP holder dropped from the inventory: plan and up name it and change nothing; status sees it hold the VIP (#19)", async () => {
      const [holder] = await holders();
      const rest = lab.inventory({
        roles: Object.fromEntries([
          ...CPS.filter((h) => h !== holder).map((h) => [h, "control-plane"]),
          ["w1", "worker"],
        ]),
      });
      const cfgs = () =>
        Promise.all(
          CPS.map((h) => sh(h, "sha256sum /etc/haproxy/haproxy.cfg /etc/keepalived/keepalived.conf")),
        );
      const before = await cfgs();
      const t0 = Date.now();
      for (const verb of ["plan", "up"]) {
        const r = await haprov(
          verb === "up" ? ["up", "-i", rest, "-y", "--json"] : ["plan", "-i", rest, "--json"],
        );
        expect(r.code).toBe(1);
        expect(changes(r.stdout)).toEqual([]);
        const failure = jsonSummary(r.stdout).failures[0]!;
        expect(failure.phase).toBe("cluster membership");
        expect(failure.message).toMatch(
          new RegExp(
            `${holder} \\(${lab.host(holder!).address.replaceAll(".", "\\.")}\\) is a Node, an etcd member and the VIP holder of this cluster`,
          ),
        );
        expect(failure.message).toContain(`haprov node remove ${holder}`);
      }
      expect(Date.now() - t0).toBeLessThan(15_000); // refused at once, not after the VIP gate's 60 s
      expect(await cfgs()).toEqual(before);
      expect(await holders()).toEqual([holder]);

      const status = await haprov(["status", "-i", rest, "--json"]);
      expect(status.code).toBe(1);
      const cluster = events(status.stdout).find((e) => e.event === "cluster")!;
      expect(cluster.problems!.some((p) => p.startsWith(`${holder} (`) && p.includes("the VIP holder"))).toBe(
        true,
      );
    }, 120_000);

    it("hard kill of the VIP holder: the VIP moves and requests succeed again within 10 s", async () => {
      const [holder] = await holders();
      const prober = startProber(vipUrl);
      await new Promise((res) => setTimeout(res, 500));
      const killedAt = Date.now();
      lab.kill(holder!);
      await waitFor(
        "a request through the VIP to succeed",
        async () => prober.firstOkAfter(killedAt + 50) !== undefined,
        20_000,
      );
      await prober.stop();
      const recovered = prober.firstOkAfter(killedAt + 50)!;
      console.log(
        `failover after a hard kill of ${holder}: requests through the VIP succeed again after ${recovered} ms`,
      );
      expect(recovered).toBeLessThanOrEqual(10_000);
      const others = CPS.filter((h) => h !== holder);
      expect(await holders(others)).toHaveLength(1);

      await lab.start(holder!);
      await waitFor(
        `${holder}'s API server to answer again`,
        async () => get200(`https://${lab.host(holder!).address}:6443/healthz`),
        60_000,
      );
      const r = await up();
      expect(r.code, r.stderr).toBe(0);
      expect(await holders()).toHaveLength(1);
    }, 180_000);

    it("rerun with the init node stopped: it is reported unreachable, exit 1, and no second cluster is made", async () => {
      const caBefore = await sh("cp2", "sha256sum /etc/kubernetes/pki/ca.crt");
      await lab.stop("cp1");
      const r = await up();
      expect(r.code).toBe(1);
      const summary = jsonSummary(r.stdout);
      expect(summary.hosts.cp1!.unreachable).toBe(true);
      expect(
        events(r.stdout)
          .filter((e) => e.event === "phase-skipped")
          .map((e) => e.phase),
      ).toEqual(
        expect.arrayContaining(["vip gate", "init", "join token", "join control plane", "join workers"]),
      );
      expect(changes(r.stdout).filter((c) => / (init|join)/.test(c))).toEqual([]);
      for (const h of ["cp2", "cp3"])
        expect(await sh(h, "test -e /etc/haprov/kubeadm-init.yaml && echo yes || echo no")).toBe("no");
      expect(await sh("cp2", "sha256sum /etc/kubernetes/pki/ca.crt")).toBe(caBefore);
      await waitFor("the other two to serve through the VIP", () => get200(vipUrl), 20_000);

      await lab.start("cp1");
      await waitFor(
        "cp1's API server",
        async () => get200(`https://${lab.host("cp1").address}:6443/healthz`),
        60_000,
      );
      const back = await up();
      expect(back.code, back.stderr).toBe(0);
    }, 180_000);

    it("a 4th control-plane node joins; every haproxy then balances over 4 backends, VIP up throughout", async () => {
      const inv4 = lab.inventory({
        roles: {
          cp1: "control-plane",
          cp2: "control-plane",
          cp3: "control-plane",
          w1: "worker",
          cp4: "control-plane",
        },
      });
      const [holderBefore] = await holders();
      const prober = startProber(vipUrl);
      const r = await up(inv4);
      await new Promise((res) => setTimeout(res, 1000));
      await prober.stop();
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(prober.failed()).toBe(0);
      const all = [...CPS, "cp4"];
      for (const h of all) {
        expect(await sh(h, "grep -c '^    server ' /etc/haproxy/haproxy.cfg")).toBe("4");
        await waitFor(`${h}'s haproxy to see 4 UP backends`, async () => {
          const csv = await sh(
            h,
            "curl -s 'http://127.0.0.1:8404/stats;csv' | awk -F, '$1==\"k8s_api\" && $18==\"UP\"' | wc -l",
          );
          return csv === "5"; // 4 servers + the backend line
        });
      }
      expect(await sh("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes")).toMatch(
        /^cp4\s+Ready/m,
      );
      // rolling handlers: one host at a time, the VIP holder last
      for (const handler of ["reload haproxy", "reload keepalived"]) {
        const order = events(r.stdout)
          .filter((e) => e.event === "handler" && e.handler === handler)
          .map((e) => e.host);
        expect([...order].sort()).toEqual(all);
        expect(order.at(-1)).toBe(holderBefore);
      }
      expect(await holders(all)).toHaveLength(1);

      // the operator's kubeconfig, used from this machine through the VIP
      const file = join(out, "admin.kubeconfig");
      const kc = await haprov(["kubeconfig", "-i", inv4, "-o", file]);
      expect(kc.code, kc.stderr).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const conf = parse(readFileSync(file, "utf8")) as {
        clusters: { cluster: { server: string } }[];
        users: { user: { "client-certificate-data": string; "client-key-data": string } }[];
      };
      expect(conf.clusters[0]!.cluster.server).toBe(`https://${lab.subnet.vip}:8443`);
      const user = conf.users[0]!.user;
      const b64 = (s: string) => Buffer.from(s, "base64").toString();
      expect(
        await get200(`${conf.clusters[0]!.cluster.server}/api/v1/nodes`, {
          cert: b64(user["client-certificate-data"]),
          key: b64(user["client-key-data"]),
        }),
      ).toBe(true);
      expect(await get200(`${conf.clusters[0]!.cluster.server}/api/v1/nodes`)).toBe(false); // 401 without it
    }, 300_000);

    it("a worker reset by hand keeps its Node: up refuses to join it; leftover state is refused, never wiped; a join that fails is undone (#19)", async () => {
      const inv5 = lab.inventory({
        roles: {
          cp1: "control-plane",
          cp2: "control-plane",
          cp3: "control-plane",
          w1: "worker",
          cp4: "control-plane",
        },
      });
      const nodes = () => sh("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name");
      const w1Failure = (stdout: string) =>
        jsonSummary(stdout).failures.find((f) => f.host === "w1")?.message ?? "";
      await sh("w1", "kubeadm reset -f >/dev/null 2>&1");
      expect(await nodes()).toContain("node/w1"); // as real kubeadm: the Node stays

      const stale = await up(inv5);
      expect(stale.code).toBe(1);
      expect(w1Failure(stale.stdout)).toMatch(
        /a Node named w1 is registered in the cluster, but w1 has no Kubernetes state/,
      );

      await sh("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf delete node w1");
      await sh(
        "w1",
        "mkdir -p /var/lib/kubelet/pki && echo another-cluster > /var/lib/kubelet/pki/kubelet-client-current.pem",
      );
      const leftover = await up(inv5);
      expect(leftover.code).toBe(1);
      expect(w1Failure(leftover.stdout)).toMatch(
        /w1 has Kubernetes state \(\/var\/lib\/kubelet\/pki\/kubelet-client-current\.pem\) but is not a member/,
      );
      expect(await sh("w1", "cat /var/lib/kubelet/pki/kubelet-client-current.pem")).toBe("another-cluster");

      // a fresh node whose join fails after registering its Node: reset, and that Node deleted
      // the kubelet cannot start: kubeadm join fails after registering the Node (kubelet-start)
      const noStart = "/etc/systemd/system/kubelet.service.d/99-test-no-start.conf";
      await sh(
        "w1",
        `rm /var/lib/kubelet/pki/kubelet-client-current.pem && mkdir -p ${dirname(noStart)} && printf '[Service]\\nExecStartPre=/bin/false\\n' > ${noStart} && systemctl daemon-reload`,
      );
      const failed = await up(inv5);
      expect(failed.code).toBe(1);
      expect(w1Failure(failed.stdout)).toMatch(/kubeadm reset done; delete the Node w1 done/);
      expect(await nodes()).not.toContain("node/w1");
      expect(await sh("w1", "find /etc/kubernetes -type f | wc -l")).toBe("0");

      await sh("w1", `rm ${noStart} && systemctl daemon-reload`);
      const back = await up(inv5);
      expect(back.code, back.stderr + back.stdout.slice(-2000)).toBe(0);
      expect(await nodes()).toContain("node/w1");
    }, 180_000);

    it("the most hostile values the schema allows run nothing: a VRRP password of shell metacharacters, a variable with $(…) in shell fields", async () => {
      const evil = "$(touch /tmp/haprov-canary)";
      const hostile = lab.inventory({
        roles: {
          cp1: "control-plane",
          cp2: "control-plane",
          cp3: "control-plane",
          w1: "worker",
          cp4: "control-plane",
        },
        cluster: 'vrrpPassword: "`;|&<>("',
        extra: `vars:\n  evil: '${evil}'\n`,
      });
      const pb = join(out, "hostile.yaml");
      writeFileSync(
        pb,
        readFileSync("playbooks/keepalived-haproxy.yaml", "utf8").replace(
          /^ {2}- recipe: load balancer\n/m,
          `  - name: hostile values
    hosts: all
    steps:
      - name: a variable in a shell line
        command:
          run: "printf '%s' {{ vars.evil }} > /tmp/haprov-hostile"
          unless: "[ \\"$(cat /tmp/haprov-hostile 2>/dev/null)\\" = {{ vars.evil }} ]"
      - name: a variable in a file
        file: { path: /tmp/haprov-hostile.txt, content: "{{ vars.evil }}\\n" }
  - recipe: load balancer
`,
        ),
      );
      const prober = startProber(vipUrl);
      const r = await haprov(["up", "-i", hostile, "--playbook", pb, "-y", "--json"]);
      await new Promise((res) => setTimeout(res, 1000));
      await prober.stop();
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(prober.failed()).toBe(0);
      const all = [...CPS, "cp4", "w1"];
      for (const h of all) {
        expect(await sh(h, "test -e /tmp/haprov-canary && echo RAN || echo clean")).toBe("clean");
        expect(await sh(h, "cat /tmp/haprov-hostile")).toBe(evil);
        expect(await sh(h, "cat /tmp/haprov-hostile.txt")).toBe(evil);
      }
      for (const h of [...CPS, "cp4"]) {
        expect(await sh(h, "sed -n 's/^ *auth_pass *//p' /etc/keepalived/keepalived.conf")).toBe("`;|&<>(");
        const ka = await lab.exec(h, "keepalived -t -f /etc/keepalived/keepalived.conf 2>&1 >/dev/null");
        expect([ka.exitCode, ka.output]).toEqual([0, ""]);
      }
      expect(await holders([...CPS, "cp4"])).toHaveLength(1);
      expect(r.stdout + r.stderr).not.toContain("`;|&<>(");
      const again = await haprov(["up", "-i", hostile, "--playbook", pb, "-y", "--json"]);
      expect(changes(again.stdout)).toEqual([]);
    }, 300_000);

    // ---- node removal (issue #21): destructive, so last. The cluster here: cp1–cp4 and w1. ----
    const etcdMembers = (on: string) =>
      sh(on, `${ETCDCTL} member list | cut -d, -f3 | tr -d ' ' | sort | tr '\\n' ' '`);
    const nodeNames = (on: string) =>
      sh(on, "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort | tr '\\n' ' '");
    /** A control-plane node that stays through every removal below (set by the first one). */
    let speaker = "cp2";
    const invOf = (names: string[]) =>
      lab.inventory({
        roles: Object.fromEntries(names.map((n) => [n, n.startsWith("w") ? "worker" : "control-plane"])),
      });

    it("node remove of the VIP holder, the init node: out of rotation first, requests through the VIP every 20 ms answered; the next up without it changes nothing (#21)", async () => {
      const all = [...CPS, "cp4"];
      const [holder] = await holders(all);
      expect(holder).toBeDefined();
      const rest = all.filter((h) => h !== holder);
      speaker = rest[0]!;
      const prober = startProber(vipUrl, 20);
      const t0 = Date.now();
      const r = await haprov(["node", "remove", holder!, "-i", invOf([...all, "w1"]), "-y", "--json"]);
      const took = Date.now() - t0;
      await new Promise((res) => setTimeout(res, 500));
      const results = await prober.stop();
      console.log(
        `node remove ${holder} (VIP holder): ${(took / 1000).toFixed(1)} s, ${prober.failed()} of ${results.length} requests through the VIP failed`,
      );
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // The VIP moves once, planned: failures come in one window of at most ~0.45 s (measured
      // 1–22 requests over several runs: the next holder's VRRP skew, the neighbours' ARP update,
      // and requests over the 1 s budget while haprov starts on these 2 shared cores). A node
      // stopped before the VIP left it would cost ~3 s (master-down), 150 requests: 50 is one
      // second's worth. The goal of none is not met reliably (bench/RESULTS.md).
      expect(prober.failed(), `failed at ${prober.failedAt().join(", ")}`).toBeLessThanOrEqual(50);
      // the order: nothing on the node stopped before the VIP answered elsewhere
      const phases = events(r.stdout)
        .filter((e) => e.event === "phase-start")
        .map((e) => e.phase);
      expect(phases.indexOf("vip gate")).toBeLessThan(phases.indexOf("reset node"));
      expect(await etcdMembers(rest[0]!)).toBe(rest.join(" "));
      expect(await nodeNames(rest[0]!)).toBe(`${rest.map((n) => `node/${n}`).join(" ")} node/w1`);
      expect(await holders(all)).toHaveLength(1);
      expect(await holders([holder!])).toEqual([]);
      expect(await sh(holder!, "systemctl is-enabled keepalived haproxy | tr '\\n' ' '")).toBe(
        "disabled disabled",
      );
      expect(
        await sh(
          holder!,
          "ls /etc/kubernetes/admin.conf /etc/keepalived/keepalived.conf 2>&1 | grep -c 'No such'",
        ),
      ).toBe("2");
      for (const h of rest) expect(await sh(h, "grep -c '^    server ' /etc/haproxy/haproxy.cfg")).toBe("3");

      // the same removal again finishes nothing more: everything reads as done
      const again = await haprov(["node", "remove", holder!, "-i", invOf([...all, "w1"]), "-y", "--json"]);
      expect(again.code, again.stderr + again.stdout.slice(-2000)).toBe(0);
      expect(changes(again.stdout)).toEqual([]);
      // the next up without the node: nothing to change
      const next = await up(invOf([...rest, "w1"]));
      expect(next.code, next.stderr + next.stdout.slice(-2000)).toBe(0);
      expect(changes(next.stdout)).toEqual([]);
    }, 300_000);

    it("node remove refused by the quorum guard while another etcd member is paused: nothing changed (#21)", async () => {
      const members = (await etcdMembers(speaker)).trim().split(" ");
      expect(members).toHaveLength(3);
      const [paused, leaving] = members.filter((m) => m !== speaker) as [string, string];
      await sh(paused, "kill -STOP $(pgrep -x etcd)");
      try {
        // a paused leader costs an election: the refusal below is about one member down, not none led
        await waitFor(
          "the two running members to have a leader",
          async () =>
            (await lab.exec(speaker, `${ETCDCTL} --command-timeout=2s endpoint health`)).exitCode === 0,
        );
        const r = await haprov(["node", "remove", leaving, "-i", invOf([...members, "w1"]), "-y", "--json"]);
        expect(r.code).toBe(1);
        const failure = jsonSummary(r.stdout)
          .failures.map((f) => f.message)
          .join("\n");
        expect(failure).toMatch(
          new RegExp(
            `refusing to remove ${leaving}: removing ${leaving} from etcd would leave 1 healthy of 2 member\\(s\\).*unhealthy: ${paused}`,
          ),
        );
        expect(changes(r.stdout)).toEqual([]);
      } finally {
        await sh(paused, "kill -CONT $(pgrep -x etcd)");
      }
      expect(await etcdMembers(speaker)).toBe(members.join(" "));
    }, 120_000);

    it("a worker removed and added again: drained, reset, its Node deleted; up joins it afresh (#21)", async () => {
      const cps = (await etcdMembers(speaker)).trim().split(" ");
      const r = await haprov(["node", "remove", "w1", "-i", invOf([...cps, "w1"]), "-y", "--json"]);
      expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
      expect(await nodeNames(speaker)).not.toContain("node/w1");
      expect(await sh("w1", "ls /etc/kubernetes/kubelet.conf 2>&1 | grep -c 'No such'")).toBe("1");
      const back = await up(invOf([...cps, "w1"]));
      expect(back.code, back.stderr + back.stdout.slice(-2000)).toBe(0);
      expect(await nodeNames(speaker)).toContain("node/w1");
    }, 180_000);

    it("a dead control-plane node replaced: removed with --unreachable from the survivors, a new host joined by up (#21)", async () => {
      const cps = (await etcdMembers(speaker)).trim().split(" ");
      const dead = cps.filter((h) => h !== speaker).at(-1)!;
      const survivors = cps.filter((h) => h !== dead);
      const fresh = [...CPS, "cp4"].find((h) => !cps.includes(h))!; // the node removed earlier: reset, so fresh
      await lab.stop(dead);
      const r = await haprov([
        "node",
        "remove",
        dead,
        "-i",
        invOf([...survivors, "w1"]),
        "--unreachable",
        "-y",
        "--json",
      ]);
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(await etcdMembers(survivors[0]!)).toBe(survivors.join(" "));
      expect(await nodeNames(survivors[0]!)).not.toContain(`node/${dead}`);
      const replaced = await up(invOf([...survivors, fresh, "w1"]));
      expect(replaced.code, replaced.stderr + replaced.stdout.slice(-3000)).toBe(0);
      expect(await etcdMembers(survivors[0]!)).toBe([...survivors, fresh].sort().join(" "));
      expect(await holders([...survivors, fresh])).toHaveLength(1);
    }, 300_000);
  },
);
