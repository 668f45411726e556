import { z } from "zod";

/**
 * The inventory, one zod schema with a description per field (STYLE.md habit 11). Unknown keys are
 * errors everywhere (strictObject). Cross-field rules live in rules.ts.
 */
export const HA_MODES = [
  "keepalived-haproxy",
  "haproxy-pair",
  "kube-vip",
  "pacemaker",
  "etcd-local-proxy",
] as const;
export const ROLES = ["control-plane", "worker", "lb", "etcd"] as const;

const ipv4 = z.ipv4({ error: "expected an IPv4 address such as 10.0.0.11" });
const port = z
  .number({ error: "expected a TCP port number (1-65535)" })
  .int({ error: "expected a whole port number" })
  .min(1, { error: "expected a TCP port number (1-65535)" })
  .max(65535, { error: "expected a TCP port number (1-65535)" });
const name = z.string({ error: "expected a name" }).regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
  error: "expected a DNS label: lower-case letters, digits and '-', at most 63 characters",
});
/** A value that must never be printed. The loader registers it with the Redactor. */
const secretString = z
  .string({ error: "expected a string" })
  .min(1, { error: "expected a non-empty string" });

export const SshSettings = z.strictObject({
  user: z.string().min(1).optional().describe("Login user (default: root, or ssh_config's User)"),
  port: port.optional().describe("SSH port (default 22, or ssh_config's Port)"),
  identityFile: z.string().optional().describe("Private key file; ~ is expanded"),
  password: secretString.optional().describe("Password auth (use ${ENV}); keys or the agent are preferred"),
  useAgent: z.boolean().optional().describe("Offer keys from $SSH_AUTH_SOCK (default true when set)"),
  knownHosts: z.string().optional().describe("known_hosts file (default ~/.ssh/known_hosts)"),
  sshConfig: z
    .union([z.string(), z.literal(false)])
    .optional()
    .describe("ssh_config file to honour (default ~/.ssh/config); false to ignore it"),
  sudoPasswordEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, {
      error: "expected an environment variable name",
    })
    .optional()
    .describe("Environment variable holding the sudo password for non-root users"),
  connectTimeoutMs: z.number().int().min(100).optional().describe("TCP+SSH handshake timeout"),
  bastion: z
    .strictObject({
      address: z.string().min(1).describe("Jump host address or name"),
      port: port.optional(),
      user: z.string().min(1).optional(),
      identityFile: z.string().optional(),
    })
    .optional()
    .describe("Jump host: connections to every host are forwarded through it"),
});

export const ClusterSettings = z.strictObject({
  name: name.describe("Cluster name; also names lab resources"),
  mode: z
    .enum(HA_MODES, { error: `expected one of: ${HA_MODES.join(", ")}` })
    .describe("HA design (see the seeds)"),
  vip: ipv4.optional().describe("Virtual IP clients use (not needed for etcd-local-proxy)"),
  vipPrefix: z.number().int().min(8).max(32).default(24).describe("Prefix length of the VIP"),
  interface: z.string().min(1).default("eth0").describe("Interface that carries the VIP / VRRP"),
  lbPort: port.default(8443).describe("Load-balancer frontend port (never 6443 on a control-plane node)"),
  apiServerPort: port.default(6443).describe("Port every kube-apiserver listens on"),
  kubernetesVersion: z
    .string()
    .regex(/^v?1\.\d+\.\d+$/, {
      error: "expected a Kubernetes version such as v1.31.2",
    })
    .default("v1.31.0"),
  podCidr: z.cidrv4({ error: "expected an IPv4 CIDR such as 10.244.0.0/16" }).default("10.244.0.0/16"),
  cni: z.enum(["flannel", "none"], { error: "expected one of: flannel, none" }).default("flannel"),
  pki: z
    .enum(["copy", "upload"], { error: "expected one of: copy, upload" })
    .default("copy")
    .describe("copy: haprov copies the shared CA keys; upload: kubeadm --upload-certs"),
  virtualRouterId: z.number().int().min(1).max(255).default(51).describe("VRRP id, unique per L2 segment"),
  vrrpPassword: secretString
    .max(8, {
      error: "expected at most 8 characters: keepalived truncates longer VRRP passwords",
    })
    .optional()
    .describe("VRRP auth_pass (generated when omitted)"),
  vrrpProfile: z
    .enum(["default", "fast"], { error: "expected default or fast" })
    .default("default")
    .describe("fast: VRRPv3, 0.3 s adverts (~1 s failover) and NO VRRP authentication"),
  strict: z.boolean().default(false).describe("Turn quorum warnings into errors"),
});

export const HostEntry = z.strictObject({
  name: name.describe("Host name; becomes the Kubernetes node name"),
  address: ipv4.describe("Address haprov connects to and the cluster uses"),
  roles: z
    .array(z.enum(ROLES, { error: `expected one of: ${ROLES.join(", ")}` }))
    .min(1, { error: "expected at least one role" })
    .describe("control-plane, worker, lb, etcd"),
  priority: z.number().int().min(1).max(254).optional().describe("VRRP priority override"),
  interface: z.string().min(1).optional().describe("Interface override"),
  user: z.string().min(1).optional().describe("SSH user override"),
  port: port.optional().describe("SSH port override"),
  identityFile: z.string().optional(),
  vars: z.record(z.string(), z.unknown()).optional().describe("Free-form values for playbooks"),
});

export const Inventory = z.strictObject({
  cluster: ClusterSettings,
  ssh: SshSettings.default({}),
  hosts: z.array(HostEntry).min(1, { error: "expected at least one host" }),
  vars: z.record(z.string(), z.unknown()).optional().describe("Free-form values for playbooks"),
});

export type Inventory = z.infer<typeof Inventory>;
export type InventoryInput = z.input<typeof Inventory>;
export type HostEntry = z.infer<typeof HostEntry>;
