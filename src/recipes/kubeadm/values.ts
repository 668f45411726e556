import { runKey } from "../../core/run-key.js";
import { sh } from "../../core/quote.js";
import { when } from "../blocks/condition.js";

/**
 * The run values the kubeadm phases share (issue #9: declared once, typed; a misspelt name does
 * not compile). Each is found on the hosts, never kept on the operator's disk.
 */
export const INIT_NODE = runKey("initNode", "the node that initialises the cluster");
export const UNJOINED = runKey("unjoined", "whether this node still has to join");
export const CA_CERT = runKey("caCert", "the cluster's CA certificate");
export const CERTIFICATE_KEY = runKey(
  "certificateKey",
  "the key of the uploaded control-plane certificates",
  {
    secret: true,
  },
);
/** One bootstrap token per joining node, made just before its join and deleted after it. */
export const joinToken = (node: string) =>
  runKey(`joinToken_${node.replaceAll("-", "_")}`, `the bootstrap token for ${node}`, { secret: true });

export const ADMIN_CONF = "/etc/kubernetes/admin.conf";
export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
export const APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";
export const INIT_CONFIG = "/etc/haprov/kubeadm-init.yaml";
export const JOIN_CONFIG = "/etc/haprov/kubeadm-join.yaml";

/**
 * The shared keys kubeadm's "manual certificate distribution" copies to each joining control-plane
 * node (REFERENCE.md §0.3), and the run value that carries each one in memory.
 */
export const PKI_FILES = [
  "ca.crt",
  "ca.key",
  "sa.key",
  "sa.pub",
  "front-proxy-ca.crt",
  "front-proxy-ca.key",
  "etcd/ca.crt",
  "etcd/ca.key",
].map((file) => ({
  file,
  path: `/etc/kubernetes/pki/${file}`,
  key: runKey(`pki_${file.replace(/[/.-]/g, "_")}`, `the cluster's ${file}`, { secret: true }),
}));

/**
 * What is copied for this cluster: with an external etcd (design E) the etcd CA is not kubeadm's
 * (its certificate is put on each control-plane node by the mode, its key never leaves etcd's CA host).
 */
export const pkiFilesFor = (externalEtcd: boolean) =>
  externalEtcd ? PKI_FILES.filter((f) => !f.file.startsWith("etcd/")) : PKI_FILES;

/** This node runs an initialised control plane (kubeadm's own state check, REFERENCE.md §0.3). */
export const INITIALISED = sh`test -f ${ADMIN_CONF} && test -f ${APISERVER_MANIFEST}`;

export const isInitNode = when((v) =>
  v.get(INIT_NODE) === v.host.name ? undefined : `${v.get(INIT_NODE)} initialises the cluster`,
);
export const notInitNode = when((v) =>
  v.get(INIT_NODE) === v.host.name ? `${v.host.name} initialised the cluster` : undefined,
);
export const pkiCopy = when((v) =>
  v.inventory.cluster.pki === "copy" ? undefined : "pki: upload (kubeadm shares the certificates)",
);
