import type { HostSpec, Role } from "../../src/core/host.js";

/** A HostSpec as the CLI would resolve it for a root login on port 22, for unit tests. */
export function hostSpec(
  name: string,
  address = "10.0.0.11",
  roles: Role[] = ["control-plane"],
  o: { interface?: string; priority?: number; vars?: HostSpec["vars"] } = {},
): HostSpec {
  return {
    name,
    address,
    roles,
    interface: o.interface ?? "eth0",
    priority: o.priority,
    vars: o.vars ?? {},
    ssh: { user: "root", port: 22, identityFile: undefined, hostname: address, jump: undefined },
  };
}
