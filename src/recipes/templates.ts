import type { Template } from "./template.js";
import { checkApiserver, haproxyCfg, keepalivedConf } from "./keepalived-haproxy/index.js";
import { kubeadmInit, kubeadmJoinControlPlane, kubeadmJoinWorker, kubeFlannel } from "./kubeadm/index.js";

export type { Template, TemplateInput } from "./template.js";

/** /etc/hosts-style lines for every host of the cluster, in inventory order. */
export const clusterHosts: Template = ({ inventory, hosts }) =>
  [
    `# Managed by haprov for cluster ${inventory.cluster.name}: changes here are put back on the next run.`,
    ...hosts.map((h) => `${h.address}\t${h.name}`),
    "",
  ].join("\n");

/** Templates a playbook may name in `file: { template: NAME }`. The HA recipes add theirs here. */
export const TEMPLATES: Record<string, Template> = {
  "cluster-hosts": clusterHosts,
  "haproxy-cfg": haproxyCfg,
  "keepalived-conf": keepalivedConf,
  "check-apiserver": checkApiserver,
  "kubeadm-init": kubeadmInit,
  "kubeadm-join-control-plane": kubeadmJoinControlPlane,
  "kubeadm-join-worker": kubeadmJoinWorker,
  "kube-flannel": kubeFlannel,
};
