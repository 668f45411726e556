import { clusterOf, type Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import { sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import { when } from "../blocks/condition.js";
import type { HostView } from "../blocks/view.js";
import { parseXml, type XmlElement } from "./xml.js";

export const PCMK_MEMBER = runKey(
  "pcmkMember",
  "the first node that is already a member of this Pacemaker cluster",
);
export const HACLUSTER_PASSWORD = runKey("haclusterPassword", "the password of the hacluster user", {
  secret: true,
});

export const COROSYNC_CONF = "/etc/corosync/corosync.conf";
export const KNOWN_HOSTS = "/var/lib/pcsd/known-hosts";
export const passwordFile = (cluster: string) => `/var/lib/haprov/${cluster}/hacluster-password`;
export const settings = (inv: Inventory) => clusterOf(inv, ["pacemaker"]).pacemaker!;

/** This node is a member of *this* cluster: its corosync.conf names it (Debian's default is "debian"). */
export const isMember = (cluster: string) =>
  sh`grep -qE ${`^[[:space:]]*cluster_name:[[:space:]]*${cluster}[[:space:]]*$`} ${COROSYNC_CONF}`;

export const leader = (v: HostView) => v.get(PCMK_MEMBER);
export const isLeader = when((v) =>
  leader(v) === v.host.name ? undefined : `${leader(v)} speaks for the Pacemaker cluster`,
);
export const noMemberYet = (v: HostView) => Object.values(v.answers(PCMK_MEMBER)).every((a) => !a);

/** The live CIB's configuration (empty before the cluster exists). */
export const cibFact: Fact<XmlElement> = {
  key: "pacemaker-cib",
  script: "cibadmin --query --scope configuration 2>/dev/null || true",
  parse: (out) => parseXml(out),
};
