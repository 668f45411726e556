/** A host as the engine sees it: resolved from the inventory, with connection details. */
export type Role = "control-plane" | "worker" | "lb" | "etcd";

export interface HostSpec {
  name: string;
  address: string;
  roles: Role[];
  /** Free-form per-host overrides the recipes read (priority, interface…). */
  vars: Record<string, unknown>;
  ssh: {
    user: string;
    port: number;
    identityFile: string | undefined;
    /** Host-key lookup name: inventory address, or the ssh_config HostName when that is used. */
    hostname: string;
    /** Jump host (inventory `ssh.bastion` or ssh_config ProxyJump); reached with forwardOut. */
    jump: JumpHost | undefined;
  };
}

export interface JumpHost {
  address: string;
  port: number;
  user: string;
  identityFile: string | undefined;
}
