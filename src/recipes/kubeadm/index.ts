import { createHash, X509Certificate } from "node:crypto";
import type { Template, TemplateInput } from "../template.js";
import { controlPlane } from "../keepalived-haproxy/index.js";
import { need, renderInitConfig, renderJoinConfig, type ClusterShape } from "./config.js";
import { renderFlannel } from "./flannel.js";

/** The endpoint clients and joining nodes use: VIP:LB-port. */
export function clusterShape(i: TemplateInput): ClusterShape {
  const c = i.inventory.cluster;
  if (!c.vip) throw new Error("cluster.vip is required for the kubeadm templates");
  return {
    kubernetesVersion: c.kubernetesVersion,
    endpoint: `${c.vip}:${c.lbPort}`,
    podCidr: c.podCidr,
    apiServerPort: c.apiServerPort,
    certSANs: [c.vip, ...controlPlane(i.hosts).map((h) => h.address)],
  };
}

const node = (i: TemplateInput) => ({ name: i.host.name, address: i.host.address });

export const kubeadmInit: Template = (i) => renderInitConfig(clusterShape(i), node(i));

const joinSecrets = (i: TemplateInput, controlPlane: boolean) => ({
  token: need(i.values, "joinToken"),
  caHash: caCertHash(Buffer.from(need(i.values, "caCert"), "base64").toString()),
  certificateKey:
    controlPlane && i.inventory.cluster.pki === "upload" ? need(i.values, "certificateKey") : undefined,
});

export const kubeadmJoinControlPlane: Template = (i) =>
  renderJoinConfig(clusterShape(i), node(i), joinSecrets(i, true), true);
export const kubeadmJoinWorker: Template = (i) =>
  renderJoinConfig(clusterShape(i), node(i), joinSecrets(i, false), false);

export const kubeFlannel: Template = (i) => renderFlannel(i.inventory.cluster.podCidr);

/**
 * kubeadm's discovery-token-ca-cert-hash: sha256 of the CA certificate's SubjectPublicKeyInfo (DER),
 * computed here from the public certificate instead of with two openssl runs on a host.
 */
export function caCertHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}
