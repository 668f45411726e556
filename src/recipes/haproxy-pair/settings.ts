import { z } from "zod";
import { commonClusterFields, modeField, vipFields, vrrpFields } from "../../config/cluster-common.js";

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

/** Design B's cluster settings: the VIP on a dedicated pair of haproxy hosts. */
export const HaproxyPairCluster = z.strictObject({
  mode: modeField("haproxy-pair"),
  ...commonClusterFields,
  ...vipFields,
  ...vrrpFields,
  lbPair: LbPairSettings.prefault({}).describe("How the LB hosts hand the VIP over"),
});
