import { z } from "zod";
import { commonClusterFields, modeField, vipFields, vrrpFields } from "../../config/cluster-common.js";

/** Design A's cluster settings: the VIP, held by keepalived on the control-plane nodes. */
export const KeepalivedHaproxyCluster = z.strictObject({
  mode: modeField("keepalived-haproxy"),
  ...commonClusterFields,
  ...vipFields,
  ...vrrpFields,
});
