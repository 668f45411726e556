import { z } from "zod";
import {
  dnsLabel as name,
  hostAddress,
  interfaceName,
  ipv4,
  localPath,
  MAX_TIMEOUT_MS,
  port,
  secretString,
  userName,
  varName,
  varValue,
} from "./formats.js";
import { HA_MODES, type HaMode } from "./cluster-common.js";
import { KeepalivedHaproxyCluster } from "../recipes/keepalived-haproxy/settings.js";
import { HaproxyPairCluster } from "../recipes/haproxy-pair/settings.js";
import { KubeVipCluster } from "../recipes/kube-vip/settings.js";
import { PacemakerCluster } from "../recipes/pacemaker/settings.js";
import { EtcdLocalProxyCluster } from "../recipes/etcd-local-proxy/settings.js";

export { HA_MODES, type HaMode } from "./cluster-common.js";
export { LbPairSettings } from "../recipes/haproxy-pair/settings.js";
export { BgpPeer, KubeVipBgp, KubeVipSettings } from "../recipes/kube-vip/settings.js";
export { FenceDevice, PacemakerSettings } from "../recipes/pacemaker/settings.js";
export { LocalProxySettings } from "../recipes/etcd-local-proxy/settings.js";
import type { FenceDevice } from "../recipes/pacemaker/settings.js";
import type { KubeVipBgp } from "../recipes/kube-vip/settings.js";

/**
 * The inventory, one zod schema with a description per field (STYLE.md habit 11). Unknown keys are
 * errors everywhere (strictObject). Every string that can reach a host has a format (formats.ts).
 * Cross-field rules live in rules.ts.
 */
export const ROLES = ["control-plane", "worker", "lb", "etcd"] as const;

/** A value that must never be printed. The loader registers it with the Redactor. */
const secret = secretString;

export const SshSettings = z.strictObject({
  user: userName.optional().describe("Login user (default: root, or ssh_config's User)"),
  port: port.optional().describe("SSH port (default 22, or ssh_config's Port)"),
  identityFile: localPath.optional().describe("Private key file on this machine; ~ is expanded"),
  password: secret
    .optional()
    .describe(
      "Password auth, at least 6 characters (write ${ENV}, not the password); keys or the agent are preferred",
    ),
  useAgent: z.boolean().optional().describe("Offer keys from $SSH_AUTH_SOCK (default true when set)"),
  knownHosts: localPath
    .optional()
    .describe("known_hosts file (default ~/.ssh/known_hosts); must parse as one when it exists"),
  sshConfig: z
    .union([localPath, z.literal(false)])
    .optional()
    .describe("ssh_config file to honour (default ~/.ssh/config); false to ignore it"),
  sudoPasswordEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, {
      error: "expected an environment variable name",
    })
    .optional()
    .describe("Environment variable holding the sudo password for non-root users"),
  connectTimeoutMs: z
    .number({ error: "expected a number of milliseconds" })
    .int({ error: "expected a whole number of milliseconds" })
    .min(100, { error: "expected at least 100 ms" })
    .max(MAX_TIMEOUT_MS, { error: `expected at most ${MAX_TIMEOUT_MS} ms (10 minutes)` })
    .optional()
    .describe("TCP+SSH handshake timeout in ms (100 to 600000)"),
  bastion: z
    .strictObject({
      address: hostAddress.describe("Jump host: an IPv4 address or a DNS name"),
      port: port.optional().describe("Jump host's SSH port (default 22)"),
      user: userName.optional().describe("Jump host login user (default: ssh.user)"),
      identityFile: localPath.optional().describe("Key for the jump host (default: ssh.identityFile)"),
    })
    .optional()
    .describe("Jump host: connections to every host are forwarded through it"),
});

/** The load balancer's port when the inventory gives none: where the LB runs decides (REFERENCE.md). */
export const DEFAULT_LB_PORT: Record<HaMode, number> = {
  "keepalived-haproxy": 8443, // beside kube-apiserver on the control-plane nodes
  "haproxy-pair": 6443, // dedicated hosts: no API server there
  "kube-vip": 6443, // the VIP lands on an API server's own port
  pacemaker: 8443,
  "etcd-local-proxy": 7443, // the local proxy on every node
};

/**
 * The cluster settings, one schema per mode, each owned by its recipe (src/recipes/MODE/settings.ts)
 * and told apart by `mode` (issue #21): `vip` is required where a mode serves the API on one, and
 * another mode's settings (kubeVip in a pacemaker inventory) are an unknown key, not ignored.
 */
const CLUSTER_BY_MODE = {
  "keepalived-haproxy": KeepalivedHaproxyCluster,
  "haproxy-pair": HaproxyPairCluster,
  "kube-vip": KubeVipCluster,
  pacemaker: PacemakerCluster,
  "etcd-local-proxy": EtcdLocalProxyCluster,
} as const satisfies Record<HaMode, z.ZodObject>;

export const ClusterSettings = z
  .discriminatedUnion(
    "mode",
    Object.values(CLUSTER_BY_MODE) as unknown as [
      typeof KeepalivedHaproxyCluster,
      typeof HaproxyPairCluster,
      typeof KubeVipCluster,
      typeof PacemakerCluster,
      typeof EtcdLocalProxyCluster,
    ],
    {
      error: (i) => (i.code === "invalid_union" ? `expected one of: ${HA_MODES.join(", ")}` : undefined),
    },
  )
  .transform((c) => ({ ...c, lbPort: c.lbPort ?? DEFAULT_LB_PORT[c.mode] }));

/**
 * "kubeVip is a setting of mode kube-vip, not of pacemaker": the reason a cluster key is unknown
 * when another mode has it (for fromZod's unknown keys).
 */
export const otherModesField =
  (data: unknown) =>
  (path: readonly PropertyKey[], key: string): string | undefined => {
    if (path.length !== 1 || path[0] !== "cluster") return undefined;
    const mode = (data as { cluster?: { mode?: unknown } } | undefined)?.cluster?.mode;
    const owners = HA_MODES.filter((m) => key in CLUSTER_BY_MODE[m].shape);
    if (owners.length === 0 || typeof mode !== "string") return undefined;
    return `"${key}" is a setting of mode ${owners.join(", ")}, not of mode ${mode}: remove it, or change the mode`;
  };

/** The fields of `mode`'s cluster settings. */
export const clusterFieldsOf = (mode: HaMode): Record<string, z.ZodType> => CLUSTER_BY_MODE[mode].shape;

export const HostEntry = z.strictObject({
  name: name.describe("Host name (a DNS label); becomes the Kubernetes node name"),
  address: ipv4.describe("IPv4 address haprov connects to and the cluster uses"),
  roles: z
    .array(z.enum(ROLES, { error: `expected one of: ${ROLES.join(", ")}` }))
    .min(1, { error: "expected at least one role" })
    .describe("control-plane, worker, lb, etcd"),
  priority: z.number().int().min(1).max(254).optional().describe("VRRP priority override"),
  routerId: ipv4
    .optional()
    .describe("kube-vip BGP router ID of this node (default: its address); unique per node"),
  interface: interfaceName.optional().describe("Interface override (same format as cluster.interface)"),
  user: userName.optional().describe("SSH user override (a POSIX user name)"),
  port: port.optional().describe("SSH port override"),
  identityFile: localPath.optional().describe("Key override, a file on this machine"),
  vars: z
    .record(varName, varValue)
    .optional()
    .describe("This host's values for playbooks, as {{ vars.NAME }} (over the top-level vars)"),
});

export const Inventory = z.strictObject({
  cluster: ClusterSettings,
  ssh: SshSettings.default({}),
  hosts: z.array(HostEntry).min(1, { error: "expected at least one host" }),
  vars: z
    .record(varName, varValue)
    .optional()
    .describe("Values for playbooks, as {{ vars.NAME }}: strings, numbers or true/false"),
});

export type Inventory = z.infer<typeof Inventory>;
export type InventoryInput = z.input<typeof Inventory>;
export type HostEntry = z.infer<typeof HostEntry>;
export type FenceDevice = z.infer<typeof FenceDevice>;
export type KubeVipBgp = z.infer<typeof KubeVipBgp>;

export type Cluster = Inventory["cluster"];
/** The cluster settings of one mode. */
export type ClusterOf<M extends HaMode> = Extract<Cluster, { mode: M }>;
/** An inventory of one mode: what a recipe's own code receives once the mode is known. */
export type InventoryOf<M extends HaMode> = Omit<Inventory, "cluster"> & { cluster: ClusterOf<M> };

/** The modes that serve the API on a VIP, and those whose VIP keepalived holds (VRRP). */
export const VIP_MODES = ["keepalived-haproxy", "haproxy-pair", "kube-vip", "pacemaker"] as const;
export const VRRP_MODES = ["keepalived-haproxy", "haproxy-pair"] as const;

/**
 * The cluster settings of an inventory of one of `modes`, typed as such (a recipe's code is only
 * ever given its own mode's inventory: anything else is a bug in haprov, said as one).
 */
export function clusterOf<M extends HaMode>(inv: { cluster: Cluster }, modes: readonly M[]): ClusterOf<M> {
  if (!(modes as readonly HaMode[]).includes(inv.cluster.mode))
    throw new Error(`haprov bug: code of mode ${modes.join("/")} was given a ${inv.cluster.mode} inventory`);
  return inv.cluster as ClusterOf<M>;
}

/** The VIP settings of an inventory whose mode has a VIP; undefined for etcd-local-proxy. */
export const vipSettingsOf = (c: Cluster): { vip: string; vipPrefix: number } | undefined =>
  c.mode === "etcd-local-proxy" ? undefined : { vip: c.vip, vipPrefix: c.vipPrefix };
