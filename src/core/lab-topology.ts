import type { Role } from "./host.js";

/** The hosts `haprov lab up --mode X` creates, and the mode's lines of the inventory it writes. */
export interface LabTopology {
  hosts(controlPlanes: number): { name: string; roles: Role[] }[];
  /** Lines under `cluster:` (without the two-space indent), given the lab's free VIP. */
  cluster(vip: { address: string; prefix: number }): string[];
}
