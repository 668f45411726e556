import { z } from "zod";
import {
  interfaceName,
  ipv4,
  kubernetesVersion,
  dnsLabel as name,
  networkCidr,
  port,
  vrrpPassword,
} from "./formats.js";

/**
 * The cluster fields every mode has, and the groups some modes share (the VIP, VRRP). Each mode's
 * own schema (src/recipes/MODE/settings.ts) is made of these and its own settings; schema.ts puts
 * them together, discriminated on `mode` (issue #21): a field a mode does not use is an unknown
 * key there, and `vip` is required where the mode serves the API on one.
 */
export const HA_MODES = [
  "keepalived-haproxy",
  "haproxy-pair",
  "kube-vip",
  "pacemaker",
  "etcd-local-proxy",
] as const;
export type HaMode = (typeof HA_MODES)[number];

/** `mode` of one recipe's schema: the literal its object is told apart by. */
export const modeField = <M extends HaMode>(mode: M) => z.literal(mode).describe("HA design (see the seeds)");

export const commonClusterFields = {
  name: name.describe("Cluster name; also names lab resources"),
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
  strict: z.boolean().default(false).describe("Turn quorum warnings into errors"),
};

/** The VIP of the modes that serve the API on one: required there. */
export const vipFields = {
  vip: ipv4.describe("Virtual IP clients use"),
  vipPrefix: z.number().int().min(8).max(32).default(24).describe("Prefix length of the VIP"),
};

/** keepalived's VRRP settings (keepalived-haproxy, haproxy-pair). */
export const vrrpFields = {
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
};
