import { haprov } from "../helpers/haprov-cli.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";

/**
 * The kubeadm STAND-IN baked into the test-host image (docker/testhost/standin) around a REAL etcd
 * and the machine's REAL kubectl, driven by hand the way an operator follows the kubeadm HA guide:
 * a VIP set with `ip addr add` on cp1 in front of cp1's API server, init, two control-plane joins
 * (certificate key; copied PKI), kubectl through the VIP, the failures kubeadm would report, and
 * what a real control plane does when etcd members stop, clients race and RBAC is not yet bound.
 */
describe.runIf(dockerAvailable())("kubeadm stand-in on lab hosts", () => {
  let lab: Lab;
  let vip: string;
  const run = async (host: string, cmd: string) => {
    const r = await lab.exec(host, `export HAPROV_STANDIN_DISCOVERY_TIMEOUT=3; ${cmd}`);
    return { code: r.exitCode, out: r.output };
  };
  const ok = async (host: string, cmd: string) => {
    const r = await run(host, cmd);
    expect(r.code, `${host}: ${cmd}\n${r.out}`).toBe(0);
    return r.out;
  };

  beforeAll(async () => {
    lab = await startLab({ hosts: 3 });
    vip = lab.subnet.vip;
    // The prerequisites kubeadm's preflight checks, set by haprov itself.
    const prepare = (await haprov(["up", "-i", lab.inventory(), "--playbook", "prepare", "--json"])).code;
    expect(prepare).toBe(0);
    await ok("cp1", `ip addr add ${vip}/${lab.subnet.prefix} dev eth0`);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  let joinCp = "";
  let certificateKey = "";
  it("init on cp1 generates real PKI and kubeconfigs, starts the API server and prints join commands", async () => {
    const out = await ok(
      "cp1",
      `kubeadm init --control-plane-endpoint ${vip}:6443 --upload-certs --pod-network-cidr 10.244.0.0/16 --apiserver-advertise-address ${lab.host("cp1").address}`,
    );
    expect(out).toContain("Your Kubernetes control-plane has initialized successfully!");
    const m =
      /kubeadm join (\S+) --token (\S+) \\\n\t--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64}) \\\n\t--control-plane --certificate-key ([0-9a-f]{64})/.exec(
        out,
      );
    expect(m, out).not.toBeNull();
    expect(m![1]).toBe(`${vip}:6443`);
    expect(m![2]).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    certificateKey = m![4]!;
    joinCp = `kubeadm join ${m![1]} --token ${m![2]} --discovery-token-ca-cert-hash ${m![3]}`;
    // the printed hash is the real sha256 of the CA's public key
    const hash = await ok(
      "cp1",
      "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
    );
    expect(m![3]).toBe(`sha256:${hash.trim()}`);
    const files = await ok(
      "cp1",
      "cd /etc/kubernetes && ls admin.conf super-admin.conf kubelet.conf controller-manager.conf scheduler.conf manifests/kube-apiserver.yaml pki/ca.key pki/sa.pub pki/front-proxy-ca.crt pki/etcd/ca.key",
    );
    expect(files.trim().split("\n")).toHaveLength(10);
    expect(
      await ok("cp1", "openssl x509 -noout -ext subjectAltName -in /etc/kubernetes/pki/apiserver.crt"),
    ).toContain(`IP Address:${vip}`);
    expect(await ok("cp1", "systemctl is-active kubelet")).toContain("active");
    expect(await ok("cp1", `curl -sk https://${vip}:6443/healthz`)).toBe("ok");
  });

  it("a second init fails preflight as kubeadm would", async () => {
    const r = await run("cp1", `kubeadm init --control-plane-endpoint ${vip}:6443`);
    expect(r.code).toBe(1);
    expect(r.out).toContain("[ERROR Port-6443]: Port 6443 is in use");
    expect(r.out).toContain("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]");
  });

  it("rejects flags and config fields the real kubeadm does not accept", async () => {
    expect((await run("cp2", "kubeadm init --control-plane-endpoint=x:1 --frobnicate")).out).toContain(
      "unknown flag: --frobnicate",
    );
    await ok(
      "cp2",
      `printf 'apiVersion: kubeadm.k8s.io/v1beta4\\nkind: ClusterConfiguration\\ncontrolPlaneEndpoint: ${vip}:6443\\nnetworking:\\n  podCIDR: 10.244.0.0/16\\n' > /tmp/bad.yaml`,
    );
    const bad = await run("cp2", "kubeadm init --config /tmp/bad.yaml");
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('unknown field "networking.podCIDR"');
    expect(
      (await run("cp2", "kubeadm init --config /tmp/bad.yaml --pod-network-cidr 10.0.0.0/16")).out,
    ).toContain("can not mix '--config' with arguments");
  });

  it("join fails on a wrong CA hash, an unreachable endpoint and missing PKI", async () => {
    const wrongHash = joinCp.replace(/sha256:[0-9a-f]{64}/, `sha256:${"0".repeat(64)}`);
    const r1 = await run("cp2", `${wrongHash} --control-plane --certificate-key ${certificateKey}`);
    expect(r1.code).toBe(1);
    expect(r1.out).toMatch(
      /cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "sha256:[0-9a-f]{64}" are pinned/,
    );
    const unreachable = joinCp.replace(`${vip}:6443`, `${lab.subnet.hostAddress(50)}:6443`);
    const r2 = await run("cp2", `${unreachable} --control-plane --certificate-key ${certificateKey}`);
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(
      /couldn't validate the identity of the API Server: Get "https:\/\/[\d.]+:6443\/api\/v1\/namespaces\/kube-public\/configmaps\/cluster-info"/,
    );
    const r3 = await run("cp2", `${joinCp} --control-plane`);
    expect(r3.code).toBe(1);
    expect(r3.out).toContain(
      "One or more conditions for hosting a new control plane instance is not satisfied.",
    );
    expect(r3.out).toContain("/etc/kubernetes/pki/ca.crt: no such file or directory");
    expect(await run("cp2", "test -e /etc/kubernetes/kubelet.conf")).toMatchObject({ code: 1 }); // nothing half-done
  });

  it("join --control-plane with the certificate key (cp2) and with copied PKI (cp3); kubectl through the VIP lists 3 nodes", async () => {
    await ok(
      "cp2",
      `${joinCp} --control-plane --certificate-key ${certificateKey} --apiserver-advertise-address ${lab.host("cp2").address}`,
    );
    // Manual PKI distribution: exactly the shared files, in memory (base64 through exec), 0600 keys.
    for (const f of [
      "ca.crt",
      "ca.key",
      "sa.key",
      "sa.pub",
      "front-proxy-ca.crt",
      "front-proxy-ca.key",
      "etcd/ca.crt",
      "etcd/ca.key",
    ]) {
      const b64 = (await ok("cp1", `base64 -w0 /etc/kubernetes/pki/${f}`)).trim();
      await ok(
        "cp3",
        `mkdir -p /etc/kubernetes/pki/etcd && echo ${b64} | base64 -d > /etc/kubernetes/pki/${f} && chmod 600 /etc/kubernetes/pki/${f}`,
      );
    }
    const out3 = await ok(
      "cp3",
      `${joinCp} --control-plane --apiserver-advertise-address ${lab.host("cp3").address}`,
    );
    expect(out3).toContain("a new control plane instance was created");
    const nodes = await ok("cp3", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes");
    expect(
      nodes
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 3).join(" ")),
    ).toEqual(["cp1 NotReady control-plane", "cp2 NotReady control-plane", "cp3 NotReady control-plane"]);
    expect(await ok("cp2", "grep server: /etc/kubernetes/admin.conf")).toContain(`https://${vip}:6443`);
  });

  it("a node that already joined refuses to join again; kubectl apply records a CNI and nodes turn Ready", async () => {
    const again = await run("cp2", `${joinCp} --control-plane --certificate-key ${certificateKey}`);
    expect(again.code).toBe(1);
    expect(again.out).toContain("[ERROR FileAvailable--etc-kubernetes-kubelet.conf]");
    const manifest =
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-flannel\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: kube-flannel-ds\n  namespace: kube-flannel\nspec: {}\n";
    const applied = await ok(
      "cp1",
      `printf '${manifest.replaceAll("\n", "\\n")}' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -`,
    );
    expect(applied).toContain("namespace/kube-flannel created");
    expect(applied).toContain("daemonset.apps/kube-flannel-ds created");
    expect(
      await ok(
        "cp1",
        `printf '${manifest.replaceAll("\n", "\\n")}' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -`,
      ),
    ).toContain("daemonset.apps/kube-flannel-ds unchanged");
    const bad = await run(
      "cp1",
      "printf 'kind: Thing\\n' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -",
    );
    expect(bad.code).toBe(1);
    // One etcd behind every API server: ask cp3's directly, not through the VIP.
    const nodes = JSON.parse(
      await ok(
        "cp3",
        `sed 's#server: https://.*#server: https://${lab.host("cp3").address}:6443#' /etc/kubernetes/admin.conf > /tmp/local.conf && kubectl --kubeconfig /tmp/local.conf get nodes -o json`,
      ),
    ) as { items: { status: { conditions: { status: string }[] } }[] };
    expect(nodes.items.map((n) => n.status.conditions[0]!.status)).toEqual(["True", "True", "True"]);
    const pods = await ok("cp2", "kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -n kube-flannel");
    expect(pods.match(/Running/g)).toHaveLength(3);
  });

  const ADMIN = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
  /** kubectl on `host` against that node's own API server (not through the VIP). */
  const local = (host: string) =>
    `sed 's#server: https://.*#server: https://${lab.host(host).address}:6443#' /etc/kubernetes/admin.conf > /tmp/local.conf && kubectl --kubeconfig /tmp/local.conf`;
  const ETCDCTL =
    "ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key";
  const members = async (host: string) =>
    (await ok(host, `${ETCDCTL} member list`))
      .trim()
      .split("\n")
      .map((l) => l.split(", "))
      .map((m) => `${m[2]} ${m[1]}${m[5] === "true" ? " learner" : ""}`)
      .sort();
  const readyz = async (host: string, target = lab.host(host).address) =>
    (await run(host, `curl -sk -o /dev/null -w '%{http_code}' --max-time 5 https://${target}:6443/readyz`))
      .out;
  const waitUntil = async (what: string, fn: () => Promise<boolean>, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  it("real etcd: one member per control-plane node, all healthy; what one API server writes another reads", async () => {
    expect(await members("cp1")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
    const health = await run("cp2", `${ETCDCTL} endpoint health --cluster`);
    expect(health.code, health.out).toBe(0);
    expect(health.out.match(/is healthy/g)).toHaveLength(3);
    await ok("cp2", `${local("cp2")} -n default create configmap written-on-cp2 --from-literal=k=v`);
    expect(
      await ok("cp3", `${local("cp3")} -n default get configmap written-on-cp2 -o jsonpath='{.data.k}'`),
    ).toBe("v");
    // the stand-in's own etcd keys follow kube-apiserver's layout
    expect(
      await ok("cp1", `${ETCDCTL} get --keys-only /registry/configmaps/default/written-on-cp2`),
    ).toContain("/registry/configmaps/default/written-on-cp2");
  });

  it("two clients updating one Lease with the same resourceVersion: one wins, the other gets 409", async () => {
    await ok(
      "cp1",
      `printf 'apiVersion: coordination.k8s.io/v1\\nkind: Lease\\nmetadata: {name: race, namespace: kube-system}\\nspec: {holderIdentity: nobody}\\n' | ${ADMIN} create -f -`,
    );
    const rv = (
      await ok("cp1", `${ADMIN} -n kube-system get lease race -o jsonpath='{.metadata.resourceVersion}'`)
    ).trim();
    const replace = (host: string, holder: string) =>
      run(
        host,
        `printf 'apiVersion: coordination.k8s.io/v1\\nkind: Lease\\nmetadata: {name: race, namespace: kube-system, resourceVersion: "${rv}"}\\nspec: {holderIdentity: ${holder}}\\n' > /tmp/race.yaml && ${local(host)} replace -f /tmp/race.yaml`,
      );
    // two clients, two API servers, one etcd
    const [a, b] = await Promise.all([replace("cp2", "cp2"), replace("cp3", "cp3")]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    const loser = a.code === 0 ? b : a;
    expect(loser.out).toContain(
      'Error from server (Conflict): error when replacing "/tmp/race.yaml": Operation cannot be fulfilled on leases.coordination.k8s.io "race": the object has been modified; please apply your changes to the latest version and try again',
    );
    const winner = a.code === 0 ? "cp2" : "cp3";
    expect(
      await ok("cp1", `${ADMIN} -n kube-system get lease race -o jsonpath='{.spec.holderIdentity}'`),
    ).toBe(winner);
  });

  it("RBAC as Kubernetes ≥ 1.29: admin.conf is refused until the kubeadm:cluster-admins binding exists; super-admin.conf always passes", async () => {
    const SUPER = "kubectl --kubeconfig /etc/kubernetes/super-admin.conf";
    expect(await run("cp2", "test -e /etc/kubernetes/super-admin.conf")).toMatchObject({ code: 1 }); // init node only
    await ok("cp1", `${SUPER} delete clusterrolebinding kubeadm:cluster-admins`);
    // every API server sees the binding gone at once or within a second (its RBAC cache)
    await waitUntil(
      "admin.conf to be refused",
      async () => (await run("cp1", `${ADMIN} get nodes`)).code !== 0,
      5_000,
    );
    const refused = await run("cp1", `${ADMIN} -n kube-system get lease plndr-cp-lock`);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(
      'Error from server (Forbidden): leases.coordination.k8s.io "plndr-cp-lock" is forbidden: User "kubernetes-admin" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"',
    );
    expect((await run("cp1", `${SUPER} -n kube-system get lease plndr-cp-lock`)).out).toContain(
      'leases.coordination.k8s.io "plndr-cp-lock" not found',
    );
    await ok(
      "cp1",
      `${SUPER} create clusterrolebinding kubeadm:cluster-admins --clusterrole=cluster-admin --group=kubeadm:cluster-admins`,
    );
    await waitUntil(
      "admin.conf to be allowed again",
      async () => (await run("cp1", `${ADMIN} get nodes`)).code === 0,
      5_000,
    );
    // anonymous: the health endpoints only (system:public-info-viewer)
    expect(
      (await run("cp1", `curl -sk -o /dev/null -w '%{http_code}' https://${vip}:6443/api/v1/nodes`)).out,
    ).toBe("403");
    expect((await run("cp1", `curl -sk https://${vip}:6443/readyz`)).out).toBe("ok");
  });

  it("quorum: one etcd member stopped, the API still answers; two stopped, /readyz fails everywhere; back again, nothing written before is lost", async () => {
    const stopEtcd = (h: string) => ok(h, "mv /etc/kubernetes/manifests/etcd.yaml /root/etcd.yaml");
    const startEtcd = (h: string) => ok(h, "mv /root/etcd.yaml /etc/kubernetes/manifests/etcd.yaml");
    await stopEtcd("cp3");
    await waitUntil(
      "cp3's etcd to stop",
      async () => (await run("cp3", "systemctl is-active kubelet-pod-etcd")).code !== 0,
    );
    expect(await readyz("cp1", vip)).toBe("200");
    expect(await ok("cp1", `${ADMIN} -n default get configmap written-on-cp2 -o name`)).toContain(
      "written-on-cp2",
    );
    await stopEtcd("cp2");
    await waitUntil("/readyz to fail on every API server", async () =>
      (await Promise.all(["cp1", "cp2", "cp3"].map((h) => readyz(h)))).every((c) => c === "500"),
    );
    expect(
      (await run("cp1", `curl -sk https://${lab.host("cp1").address}:6443/readyz?verbose`)).out,
    ).toContain("[-]etcd failed: reason withheld");
    await startEtcd("cp2");
    await startEtcd("cp3");
    await waitUntil(
      "/readyz to pass everywhere again",
      async () => (await Promise.all(["cp1", "cp2", "cp3"].map((h) => readyz(h)))).every((c) => c === "200"),
      60_000,
    );
    expect(
      await ok("cp3", `${local("cp3")} -n default get configmap written-on-cp2 -o jsonpath='{.data.k}'`),
    ).toBe("v");
    expect(await members("cp2")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
  }, 120_000);

  it("reset -f removes the node's etcd member and undoes the node but keeps its Node, as kubeadm does; a join under a Ready Node's name is refused until it is deleted", async () => {
    await ok("cp3", "kubeadm reset -f");
    expect(await members("cp1")).toEqual(["cp1 started", "cp2 started"]);
    expect(
      (await run("cp3", "ls /etc/kubernetes/pki /etc/kubernetes/manifests")).out
        .trim()
        .split("\n")
        .filter((l) => l && !l.endsWith(":")),
    ).toEqual([]);
    expect(await ok("cp3", "systemctl is-active kubelet || true")).not.toMatch(/^active/);
    // the member's removal may move etcd's leadership: a read in that moment is refused (as the
    // real API server refuses it, "leader changed"); ask until etcd answers again
    let nodes = "";
    await waitUntil("the API server to read from etcd again", async () => {
      const r = await run("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name");
      nodes = r.out;
      return r.code === 0;
    });
    // real kubeadm reset never deletes the Node object: whoever resets a node must delete it
    expect(nodes.trim().split("\n")).toEqual(["node/cp1", "node/cp2", "node/cp3"]);
    expect(await ok("cp3", "ls -A /var/lib/etcd")).toBe("");
    const join = `${joinCp} --control-plane --certificate-key ${certificateKey} --apiserver-advertise-address ${lab.host("cp3").address}`;
    const refused = await run("cp3", join);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('a Node with name "cp3" and status "Ready" already exists in the cluster');
    await ok("cp3", "kubeadm reset -f");
    await ok("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf delete node cp3");
    await ok("cp3", join);
    expect(await members("cp1")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
    expect(
      await ok("cp3", `${local("cp3")} -n default get configmap written-on-cp2 -o jsonpath='{.data.k}'`),
    ).toBe("v");
  }, 120_000);
});
