import type { HostSpec } from "../core/host.js";
import type { Inventory } from "../config/schema.js";

/** What a TypeScript template sees. Templates are pure: same input, same bytes (no timestamps). */
export interface TemplateInput {
  inventory: Inventory;
  host: HostSpec;
  hosts: HostSpec[];
  /** Values registered earlier in the run (`register:`), e.g. a secret read from the hosts. */
  values: Record<string, string>;
  /** Per gather of the phase: host name → that host's answer. */
  gathered: Record<string, Record<string, string>>;
}

export type Template = (input: TemplateInput) => string;

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
};
