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
