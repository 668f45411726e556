import { z } from "zod";
import { commonClusterFields, modeField } from "../../config/cluster-common.js";
import { hostAddress, ipv4, port } from "../../config/formats.js";

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

/** Design E's cluster settings: a local proxy on every node, etcd on its own hosts; no VIP. */
export const EtcdLocalProxyCluster = z.strictObject({
  mode: modeField("etcd-local-proxy"),
  ...commonClusterFields,
  // not used by this mode: accepted with a warning (rules), as an inventory switched from a VIP mode has one
  vip: ipv4.optional().describe("Not used by etcd-local-proxy (a warning)"),
  localProxy: LocalProxySettings.prefault({}).describe(
    "The proxy every node runs on its loopback, and the operator's endpoint",
  ),
});
