/** A host as the engine sees it: resolved from the inventory, with connection details. */
export type Role = "control-plane" | "worker" | "lb" | "etcd";
export type VarValue = string | number | boolean;

export interface HostSpec {
  name: string;
  address: string;
  roles: Role[];
  /** The NIC that carries the VIP / VRRP on this host (the host's override or the cluster's). */
  interface: string;
  /** VRRP priority override, when the inventory gives one. */
  priority: number | undefined;
  /**
   * The operator's values for playbooks ({{ vars.NAME }}): the top-level vars, then this host's.
   * They live only here: they can never shadow host.* or cluster.* (issue #8).
   */
  vars: Record<string, VarValue>;
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
