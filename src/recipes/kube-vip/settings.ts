import { z } from "zod";
import { commonClusterFields, modeField, vipFields } from "../../config/cluster-common.js";
import { asNumber, bgpPassword, ipv4 } from "../../config/formats.js";

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

/** Design C's cluster settings: the VIP from kube-vip's static pods. */
export const KubeVipCluster = z.strictObject({
  mode: modeField("kube-vip"),
  ...commonClusterFields,
  ...vipFields,
  kubeVip: KubeVipSettings.prefault({}).describe("Leader-election timing, Services and BGP"),
});
