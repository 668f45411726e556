import { z } from "zod";
import { FENCE_AGENTS, optionKeyProblem, optionValueProblem, RESERVED_RESOURCE_IDS } from "./fence-agents.js";
import {
  asNumber,
  bgpPassword,
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

/** The load balancer's port when the inventory gives none: where the LB runs decides (REFERENCE.md). */
export const DEFAULT_LB_PORT: Record<HaMode, number> = {
  "keepalived-haproxy": 8443, // beside kube-apiserver on the control-plane nodes
  "haproxy-pair": 6443, // dedicated hosts: no API server there
  "kube-vip": 6443, // the VIP lands on an API server's own port
  pacemaker: 8443,
  "etcd-local-proxy": 7443, // the local proxy on every node
};

export const LbPairSettings = z.strictObject({
  weight: z
    .number({ error: "expected a whole number 1-253" })
    .int({ error: "expected a whole number 1-253" })
    .min(1, { error: "expected a whole number 1-253" })
    .max(253, { error: "expected a whole number 1-253" })
    .optional()
    .describe(
      "Priority an LB host loses while its haproxy check fails (default: the number of LB hosts, at least 2); every gap between LB priorities must be smaller",
    ),
  trackProcess: z
    .boolean()
    .default(false)
    .describe(
      "Also track the haproxy process (vrrp_track_process): failover within tens of ms when it dies. Needs the kernel's proc connector, which only the host's own network namespace has: not inside containers",
    ),
  preemptDelay: z
    .number({ error: "expected seconds 1-3600" })
    .int({ error: "expected whole seconds" })
    .min(1, { error: "expected seconds 1-3600" })
    .max(3600, { error: "expected seconds 1-3600" })
    .optional()
    .describe(
      "Seconds a recovered primary waits before taking the VIP back (every LB then starts as BACKUP); without it, it takes it back at once",
    ),
});

/**
 * A fence device (STONITH) for one node: a fence agent haprov knows and that agent's own options,
 * each with its format (config/fence-agents.ts, issue #20); secret options are masked everywhere.
 */
export const FenceDevice = z
  .strictObject({
    id: name
      .refine((id) => !RESERVED_RESOURCE_IDS.includes(id), {
        error: `expected an id of its own: ${RESERVED_RESOURCE_IDS.join(", ")} are haprov's resources`,
      })
      .describe("Resource id of the device, e.g. fence-cp1"),
    agent: z
      .enum(Object.keys(FENCE_AGENTS) as [string, ...string[]], {
        error: `expected a fence agent haprov knows: ${Object.keys(FENCE_AGENTS).join(", ")}`,
      })
      .describe("The fence agent (fence-agents package), e.g. fence_ipmilan, fence_redfish"),
    host: name.describe("The host (by inventory name) this device fences"),
    options: z
      .record(
        z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,63}$/, { error: "expected an option name such as ip or username" }),
        varValue,
      )
      .default({})
      .describe(
        "The agent's options as fence-agents documents them (ip, username, password, lanplus…); *_script, *_path, pcmk_*, action and debug options are refused; passwords, communities and keys are secrets",
      ),
  })
  .superRefine((d, ctx) => {
    for (const [key, value] of Object.entries(d.options)) {
      const keyProblem = optionKeyProblem(d.agent, key);
      if (keyProblem) {
        // located at the key itself (zod-issues.ts), as an unknown key is
        ctx.addIssue({ code: "custom", path: ["options", key], message: keyProblem, params: { at: "key" } });
        continue;
      }
      const format = FENCE_AGENTS[d.agent]?.[key];
      const valueProblem = format ? optionValueProblem(format, value) : undefined;
      if (valueProblem) ctx.addIssue({ code: "custom", path: ["options", key], message: valueProblem });
    }
  });

export const PacemakerSettings = z.strictObject({
  fencing: z
    .union(
      [z.literal("disabled"), z.array(FenceDevice).min(1, { error: "expected at least one fence device" })],
      {
        error: 'expected a list of fence devices, or "disabled" (a lab without fencing)',
      },
    )
    .describe(
      'Fence devices (a Pacemaker cluster without one starts nothing), or "disabled": only for labs, validate warns and status keeps saying so',
    ),
  haclusterPassword: secretString
    .optional()
    .describe(
      "Password of the hacluster user pcs authenticates with (generated once and kept on the hosts when omitted)",
    ),
  token: z
    .number({ error: "expected milliseconds 500-60000" })
    .int({ error: "expected whole milliseconds" })
    .min(500, { error: "expected at least 500 ms" })
    .max(60_000, { error: "expected at most 60000 ms" })
    .default(3000)
    .describe("Corosync totem token in ms (node loss is noticed after about this long)"),
  migrationThreshold: z
    .number({ error: "expected a whole number 1-1000" })
    .int({ error: "expected a whole number 1-1000" })
    .min(1, { error: "expected a whole number 1-1000" })
    .max(1000, { error: "expected a whole number 1-1000" })
    .default(2)
    .describe("haproxy failures on a node before it gives the VIP away"),
  failureTimeout: z
    .number({ error: "expected seconds 10-86400" })
    .int({ error: "expected whole seconds" })
    .min(10, { error: "expected at least 10 s" })
    .max(86_400, { error: "expected at most 86400 s" })
    .default(60)
    .describe("Seconds after which old haproxy failures are forgotten"),
});

const seconds = (min: number, max: number, dflt: number, what: string) =>
  z
    .number({ error: `expected whole seconds ${min}-${max}` })
    .int({ error: `expected whole seconds ${min}-${max}` })
    .min(min, { error: `expected at least ${min} s` })
    .max(max, { error: `expected at most ${max} s` })
    .default(dflt)
    .describe(what);

/** A router kube-vip's BGP speaker peers with. */
export const BgpPeer = z.strictObject({
  address: ipv4.describe("The peer router's IPv4 address"),
  as: asNumber.describe("The peer's AS number"),
  password: bgpPassword
    .optional()
    .describe("TCP MD5 session password (a secret; write ${ENV}); none of : , ; quotes or spaces"),
  multihop: z.boolean().default(false).describe("The peer is more than one hop away (eBGP multihop)"),
});

/** kube-vip's BGP mode: every control-plane node announces the VIP as a /32 from its loopback. */
export const KubeVipBgp = z.strictObject({
  localAs: asNumber.describe("The control-plane nodes' AS number"),
  peers: z
    .array(BgpPeer)
    .min(1, { error: "expected at least one BGP peer" })
    .describe("Routers to peer with"),
  holdTime: seconds(
    3,
    65_535,
    30,
    "BGP hold time in seconds: a dead node's route is withdrawn by its peers after about this long",
  ),
  keepaliveInterval: seconds(
    1,
    21_845,
    10,
    "BGP keepalive interval in seconds (at most a third of holdTime)",
  ),
});

/** kube-vip (design C): its leader election on the Lease, and Services. */
export const KubeVipSettings = z.strictObject({
  leaseDuration: seconds(
    2,
    300,
    15,
    "Seconds a lease holds without renewal; a dead leader's VIP moves after about this long",
  ),
  renewDeadline: seconds(
    1,
    299,
    10,
    "Seconds the leader keeps trying to renew before it drops the VIP (below leaseDuration)",
  ),
  retryPeriod: seconds(1, 60, 2, "Seconds between election attempts (renewDeadline must exceed 1.2 × this)"),
  services: z
    .boolean()
    .default(false)
    .describe("Also serve Service type LoadBalancer addresses (svc_enable); off by default"),
  bgp: KubeVipBgp.optional().describe(
    "BGP instead of ARP: every control-plane node announces the VIP (on lo) to these peers, no leader election",
  ),
});

/** etcd-local-proxy (design E): which proxy each node runs, and the operator's way in. */
export const LocalProxySettings = z.strictObject({
  proxy: z
    .enum(["haproxy", "nginx"], { error: "expected haproxy or nginx" })
    .default("haproxy")
    .describe(
      "haproxy (active /readyz checks, the default) or nginx (stream module, passive checks only) on 127.0.0.1:lbPort of every node",
    ),
  externalEndpoint: z
    .strictObject({
      address: hostAddress.describe(
        "IPv4 address or DNS name of a load balancer in front of the API servers",
      ),
      port: port.default(6443).describe("Its port"),
    })
    .optional()
    .describe(
      "Where the operator's kubeconfig points (haprov kubeconfig); default: the first control-plane node's API server. Added to the API server certificate",
    ),
});

export const ClusterFields = z.strictObject({
  name: name.describe("Cluster name; also names lab resources"),
  mode: z
    .enum(HA_MODES, { error: `expected one of: ${HA_MODES.join(", ")}` })
    .describe("HA design (see the seeds)"),
  vip: ipv4.optional().describe("Virtual IP clients use (not needed for etcd-local-proxy)"),
  vipPrefix: z.number().int().min(8).max(32).default(24).describe("Prefix length of the VIP"),
  interface: interfaceName
    .default("eth0")
    .describe("Interface that carries the VIP / VRRP: 1-15 letters, digits, '_', '.', '-' (not first)"),
  lbPort: port
    .optional()
    .describe(
      "Load-balancer frontend port; default 8443 where it runs on control-plane nodes (keepalived-haproxy, pacemaker), 6443 for haproxy-pair and kube-vip, 7443 for etcd-local-proxy's local proxy",
    ),
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
  lbPair: LbPairSettings.prefault({}).describe("haproxy-pair: how the LB hosts hand the VIP over"),
  kubeVip: KubeVipSettings.prefault({}).describe("kube-vip: leader-election timing and Services"),
  localProxy: LocalProxySettings.prefault({}).describe(
    "etcd-local-proxy: the proxy every node runs on its loopback, and the operator's endpoint",
  ),
  pacemaker: PacemakerSettings.optional().describe(
    "pacemaker: fencing, the hacluster password, corosync and failure settings",
  ),
});

export const ClusterSettings = ClusterFields.transform((c) => ({
  ...c,
  lbPort: c.lbPort ?? DEFAULT_LB_PORT[c.mode],
}));

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
