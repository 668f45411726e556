import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haprov, jsonSummary } from "../helpers/haprov-cli.js";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";
import { get200 } from "../helpers/prober.js";

/**
 * The alternatives to the defaults: `pki: upload` (kubeadm's encrypted kubeadm-certs Secret and a
 * certificate key, instead of haprov copying the CA keys) and `vrrpProfile: fast` (VRRPv3, 0.3 s
 * adverts, no VRRP authentication). Real keepalived/haproxy/systemd/sshd; kubeadm is the stand-in.
 */
describe.runIf(dockerAvailable())(
  "keepalived-haproxy with pki: upload, the fast VRRP profile, a sudo login",
  () => {
    let lab: Lab;
    let inv: string;
    beforeAll(async () => {
      lab = await startLab({ hosts: 3 });
      // and as an operator would log in: a sudo user, not root
      inv = lab.inventory({ cluster: "pki: upload, vrrpProfile: fast", user: "admin" });
    }, 120_000);
    afterAll(async () => lab?.destroy());

    it("builds the cluster with a certificate key; no CA key goes through haprov; a rerun changes nothing", async () => {
      const r = await haprov(["up", "-i", inv, "-y", "--json"]);
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
      const steps = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { event: string; step?: string; status?: string; host?: string });
      const changed = (name: string) =>
        steps
          .filter((e) => e.event === "step" && e.step === name && e.status === "changed")
          .map((e) => e.host);
      expect(changed("upload certificates")).toEqual(["cp1"]);
      expect(changed("pki ca.key")).toEqual([]);
      expect(changed("kubeadm join --control-plane")).toEqual(["cp2", "cp3"]);

      // kubeadm itself fetched the shared CA from the uploaded Secret: same CA everywhere
      const sum = async (h: string) =>
        (await lab.exec(h, "sha256sum < /etc/kubernetes/pki/ca.key")).output.trim();
      expect(await sum("cp2")).toBe(await sum("cp1"));
      expect(await sum("cp3")).toBe(await sum("cp1"));
      const nodes = (await lab.exec("cp3", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes"))
        .output;
      for (const n of ["cp1", "cp2", "cp3"]) expect(nodes).toMatch(new RegExp(`^${n}\\s+Ready`, "m"));
      expect(await get200(`https://${lab.subnet.vip}:8443/healthz`)).toBe(true);

      // fast profile: VRRPv3, no auth_pass in the file (VRRPv3 has none), accepted by keepalived -t
      const conf = (await lab.exec("cp1", "cat /etc/keepalived/keepalived.conf")).output;
      expect(conf).toMatch(/vrrp_version 3/);
      expect(conf).toMatch(/advert_int 0\.3/);
      expect(conf).not.toMatch(/auth_pass/);

      // the login user's kubeconfig, theirs and private
      expect((await lab.exec("cp2", "stat -c '%U %a' /home/admin/.kube/config")).output.trim()).toBe(
        "admin 600",
      );

      const again = await haprov(["up", "-i", inv, "-y", "--json"]);
      expect(again.code).toBe(0);
      expect(Object.values(jsonSummary(again.stdout).hosts).map((h) => h.changed)).toEqual([0, 0, 0]);
    }, 300_000);
  },
);
