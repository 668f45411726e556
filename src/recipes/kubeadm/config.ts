/**
 * kubeadm configuration files (REFERENCE.md §0.3): v1beta4 for kubeadm ≥ 1.31, v1beta3 before.
 * Addresses are pinned (advertiseAddress, kubelet node-ip) so a VIP on the same NIC is never
 * picked as the node's address (§1.5 pitfall 7).
 */
export interface ClusterShape {
  kubernetesVersion: string;
  /** host:port every client and joining node uses (the VIP and LB port, or a local proxy). */
  endpoint: string;
  podCidr: string;
  serviceCidr: string;
  apiServerPort: number;
  certSANs: string[];
  /** etcd run outside kubeadm (design E): its client endpoints and the files the API server uses. */
  externalEtcd?: ExternalEtcd | undefined;
}

export interface ExternalEtcd {
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface NodeShape {
  name: string;
  address: string;
}

const minor = (v: string) => Number(/^v?1\.(\d+)\./.exec(v)?.[1] ?? 0);
const apiVersion = (v: string) => (minor(v) >= 31 ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3");
const q = (s: string) => JSON.stringify(s);

function nodeRegistration(version: string, node: NodeShape): string {
  const extra =
    minor(version) >= 31
      ? `  kubeletExtraArgs:\n    - name: node-ip\n      value: ${q(node.address)}\n`
      : `  kubeletExtraArgs:\n    node-ip: ${q(node.address)}\n`;
  return `nodeRegistration:\n  name: ${q(node.name)}\n${extra}`;
}

export function renderInitConfig(c: ClusterShape, node: NodeShape): string {
  const v = apiVersion(c.kubernetesVersion);
  return `# Managed by haprov: kubeadm init runs once with this file, on ${node.name}.
apiVersion: ${v}
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${q(node.address)}
  bindPort: ${c.apiServerPort}
${nodeRegistration(c.kubernetesVersion, node)}---
apiVersion: ${v}
kind: ClusterConfiguration
kubernetesVersion: ${q(c.kubernetesVersion.startsWith("v") ? c.kubernetesVersion : `v${c.kubernetesVersion}`)}
controlPlaneEndpoint: ${q(c.endpoint)}
networking:
  podSubnet: ${q(c.podCidr)}
  serviceSubnet: ${q(c.serviceCidr)}
apiServer:
  certSANs:
${c.certSANs.map((s) => `    - ${q(s)}`).join("\n")}
${c.externalEtcd ? externalEtcd(c.externalEtcd) : ""}`;
}

function externalEtcd(e: ExternalEtcd): string {
  return `etcd:
  external:
    endpoints:
${e.endpoints.map((u) => `      - ${q(u)}`).join("\n")}
    caFile: ${q(e.caFile)}
    certFile: ${q(e.certFile)}
    keyFile: ${q(e.keyFile)}
`;
}

export interface JoinSecrets {
  token: string;
  caHash: string;
  /** Only with `pki: upload`: the key that decrypts the kubeadm-certs Secret. */
  certificateKey?: string | undefined;
}

export function renderJoinConfig(
  c: ClusterShape,
  node: NodeShape,
  s: JoinSecrets,
  controlPlane: boolean,
): string {
  const cp = controlPlane
    ? `controlPlane:
  localAPIEndpoint:
    advertiseAddress: ${q(node.address)}
    bindPort: ${c.apiServerPort}
${s.certificateKey ? `  certificateKey: ${q(s.certificateKey)}\n` : ""}`
    : "";
  return `# Written by haprov for one kubeadm join, then removed (it holds a bootstrap token).
apiVersion: ${apiVersion(c.kubernetesVersion)}
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: ${q(c.endpoint)}
    token: ${q(s.token)}
    caCertHashes:
      - ${q(s.caHash)}
${cp}${nodeRegistration(c.kubernetesVersion, node)}`;
}
