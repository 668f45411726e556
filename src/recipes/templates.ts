import type { Template } from "./template.js";

export type { Template, TemplateInput } from "./template.js";

/** /etc/hosts-style lines for every host of the cluster, in inventory order. */
export const clusterHosts: Template = ({ inventory, hosts }) =>
  [
    `# Managed by haprov for cluster ${inventory.cluster.name}: changes here are put back on the next run.`,
    ...hosts.map((h) => `${h.address}\t${h.name}`),
    "",
  ].join("\n");

/**
 * Templates a YAML playbook may name in `file: { template: NAME }`. The HA recipes render their
 * files in TypeScript, from typed values (src/recipes/<mode>/).
 */
export const TEMPLATES: Record<string, Template> = {
  "cluster-hosts": clusterHosts,
};
