import { haprov } from "../helpers/haprov-cli.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";

/**
 * The kubeadm/kubectl STAND-IN baked into the test-host image (docker/testhost/standin), driven by
 * hand the way an operator follows the kubeadm HA guide: a VIP set with `ip addr add` on cp1 in
 * front of cp1's API server, init, two control-plane joins (certificate key; copied PKI), kubectl
 * through the VIP, and the failures kubeadm would report.
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
    expect(applied).toContain("daemonset/kube-flannel-ds created");
    expect(
      await ok(
        "cp1",
        `printf '${manifest.replaceAll("\n", "\\n")}' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -`,
      ),
    ).toContain("daemonset/kube-flannel-ds unchanged");
    const bad = await run(
      "cp1",
      "printf 'kind: Thing\\n' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -",
    );
    expect(bad.code).toBe(1);
    // State replicates between API servers: ask cp3's directly, not through the VIP.
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

  it("reset -f undoes a node, and an unauthenticated client is refused", async () => {
    expect(
      (await run("cp1", `curl -sk -o /dev/null -w '%{http_code}' https://${vip}:6443/api/v1/nodes`)).out,
    ).toBe("401");
    await ok("cp3", "kubeadm reset -f");
    expect(
      (await run("cp3", "ls /etc/kubernetes/pki /etc/kubernetes/manifests")).out
        .trim()
        .split("\n")
        .filter((l) => l && !l.endsWith(":")),
    ).toEqual([]);
    expect(await ok("cp3", "systemctl is-active kubelet || true")).not.toMatch(/^active/);
    const nodes = await ok("cp1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name");
    expect(nodes.trim().split("\n")).toEqual(["node/cp1", "node/cp2"]);
  });
});
