import { z } from "zod";
import {
  dnsLabel as name,
  hostAddress,
  interfaceName,
  ipv4,
  kubernetesVersion,
  localPath,
  MAX_TIMEOUT_MS,
  networkCidr,
  port,
  secretString,
  userName,
  varName,
  varValue,
  vrrpPassword,
} from "./formats.js";

/**
 * The inventory, one zod schema with a description per field (STYLE.md habit 11). Unknown keys are
 * errors everywhere (strictObject). Every string that can reach a host has a format (formats.ts).
 * Cross-field rules live in rules.ts.
 */
export const HA_MODES = [
  "keepalived-haproxy",
  "haproxy-pair",
  "kube-vip",
  "pacemaker",
  "etcd-local-proxy",
] as const;
export type HaMode = (typeof HA_MODES)[number];
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

export const ClusterSettings = z.strictObject({
  name: name.describe("Cluster name; also names lab resources"),
  mode: z
    .enum(HA_MODES, { error: `expected one of: ${HA_MODES.join(", ")}` })
    .describe("HA design (see the seeds)"),
  vip: ipv4.optional().describe("Virtual IP clients use (not needed for etcd-local-proxy)"),
  vipPrefix: z.number().int().min(8).max(32).default(24).describe("Prefix length of the VIP"),
  interface: interfaceName
    .default("eth0")
    .describe("Interface that carries the VIP / VRRP: 1-15 letters, digits, '_', '.', '-' (not first)"),
  lbPort: port.default(8443).describe("Load-balancer frontend port (never 6443 on a control-plane node)"),
  apiServerPort: port.default(6443).describe("Port every kube-apiserver listens on"),
  kubernetesVersion: kubernetesVersion
    .default("v1.31.0")
    .describe("Kubernetes version v1.MINOR.PATCH, minors 27 to 33 (v1beta3 configs before 1.31)"),
  podCidr: networkCidr
    .default("10.244.0.0/16")
    .describe("Pod network (flannel's default); must not overlap the hosts, the VIP or serviceCidr"),
  serviceCidr: networkCidr
    .default("10.96.0.0/12")
    .describe("Service network (kubeadm's default); must not overlap podCidr or the hosts"),
  cni: z.enum(["flannel", "none"], { error: "expected one of: flannel, none" }).default("flannel"),
  pki: z
    .enum(["copy", "upload"], { error: "expected one of: copy, upload" })
    .default("copy")
    .describe("copy: haprov copies the shared CA keys; upload: kubeadm --upload-certs"),
  virtualRouterId: z.number().int().min(1).max(255).default(51).describe("VRRP id, unique per L2 segment"),
  vrrpPassword: vrrpPassword
    .optional()
    .describe(
      "VRRP auth_pass: 6-8 printable ASCII characters, none of \" ' \\ # ! $ { } or space (generated when omitted)",
    ),
  vrrpProfile: z
    .enum(["default", "fast"], { error: "expected default or fast" })
    .default("default")
    .describe("fast: VRRPv3, 0.3 s adverts (~1 s failover) and NO VRRP authentication"),
  strict: z.boolean().default(false).describe("Turn quorum warnings into errors"),
});

export const HostEntry = z.strictObject({
  name: name.describe("Host name (a DNS label); becomes the Kubernetes node name"),
  address: ipv4.describe("IPv4 address haprov connects to and the cluster uses"),
  roles: z
    .array(z.enum(ROLES, { error: `expected one of: ${ROLES.join(", ")}` }))
    .min(1, { error: "expected at least one role" })
    .describe("control-plane, worker, lb, etcd"),
  priority: z.number().int().min(1).max(254).optional().describe("VRRP priority override"),
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
