import { clusterOf } from "../../config/schema.js";
import { change, noop } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { command, fragment, sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { commandSucceeds } from "../../facts/file-state.js";
import { fileStep } from "../../steps/file.js";
import { packageStep } from "../../steps/package.js";
import { serviceStep } from "../../steps/service.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import type { RecipeInput } from "../blocks/view.js";
import { holdsVip } from "../vip/gate.js";
import { controlPlaneHaproxyCfg } from "../vip/control-plane-lb.js";
import { HAPROXY_STATS_PORT } from "../vip/lb-phase.js";
import {
  COROSYNC_CONF,
  HACLUSTER_PASSWORD,
  isMember,
  passwordFile,
  PCMK_MEMBER,
  settings,
} from "./values.js";

/**
 * What corosync.conf says when it is neither this cluster's nor the one Debian's package writes
 * (cluster "debian", one node on 127.0.0.1): "" for those two, or no file.
 */
const otherCorosyncCluster = (cluster: string): Fact<string[]> => ({
  key: `corosync-other:${cluster}`,
  script: `[ -f ${COROSYNC_CONF} ] || exit 0
n=$(sed -n 's/^[[:space:]]*cluster_name:[[:space:]]*//p' ${COROSYNC_CONF} | head -n 1)
[ "$n" = ${command(cluster)} ] && exit 0
nodes=$(grep -c '^[[:space:]]*ring0_addr:' ${COROSYNC_CONF})
[ "$n" = debian ] && [ "$nodes" = 1 ] && grep -q '^[[:space:]]*ring0_addr:[[:space:]]*127\\.0\\.0\\.1[[:space:]]*$' ${COROSYNC_CONF} && exit 0
echo "corosync cluster '$n' with $nodes node(s) in ${COROSYNC_CONF}"`,
  parse: (out) => out.split("\n").filter(Boolean),
});

/**
 * Debian starts a one-node cluster "debian" when corosync is installed; pcs refuses to set up a
 * node that runs one (§4.4 pitfall 3). Only that package default is destroyed (issue #19), and the
 * engine checks it was so when the run began; a node in any other corosync cluster is refused.
 */
function leaveDefaultCluster(cluster: string): BoundStep {
  const other = otherCorosyncCluster(cluster);
  const member = commandSucceeds(isMember(cluster));
  const idle = commandSucceeds(`[ ! -e ${COROSYNC_CONF} ] && ! systemctl is-active --quiet corosync`);
  return {
    name: "leave Debian's default cluster",
    type: "pacemaker-default-cluster",
    notify: [],
    facts: () => [other, member, idle],
    files: () => [],
    plan(facts, ctx) {
      if (facts.get(member)) return noop(`${ctx.host.name} is a member of ${cluster}`);
      if (facts.get(idle)) return noop("no corosync cluster on this node");
      const found = facts.get(other);
      if (found.length > 0)
        throw new HaprovError(
          `${ctx.host.name} is in another ${found.join("")}: haprov does not destroy a cluster it did not make`,
          {
            hint: "take the node out of that cluster yourself (pcs cluster node remove), or use another host",
          },
        );
      return change("stop and destroy the one-node cluster Debian's corosync package starts", [
        {
          kind: "exec",
          command: "systemctl stop pacemaker corosync && pcs cluster destroy --force >/dev/null",
          what: "pcs cluster destroy",
          guards: [
            {
              kind: "fresh-at-start",
              what: "corosync cluster other than the package's default",
              state: other,
            },
          ],
        },
      ]);
    },
  };
}

/** The packages, the hacluster password, pcsd, and haproxy's config for Pacemaker to run. */
export function stackPhase(input: RecipeInput, cps: HostSpec[]) {
  const step = stepsOf(input);
  const name = input.inventory.cluster.name;
  const pwFile = passwordFile(name);
  return phase(input, {
    name: "cluster stack",
    hosts: cps,
    requires: "any",
    gather: [
      gatherInto(PCMK_MEMBER, (ctx) => sh`${fragment(isMember(name))} && echo ${ctx.host.name}`, {
        otherwise: "first-host",
      }),
      // The password the nodes already share, so a rerun keeps it; the first run makes one up. It
      // lives in a root-only file on the hosts and in memory, never on the operator's disk.
      gatherInto(HACLUSTER_PASSWORD, () => sh`cat ${pwFile} 2>/dev/null`, { generate: { length: 16 } }),
    ],
    steps: [
      step({
        name: "pacemaker, corosync, pcs and haproxy packages",
        type: packageStep,
        // crm_mon (pacemaker-cli-utils) is only a recommendation of pcs on Debian, and pcs needs it.
        params: () => ({
          names: [
            "pacemaker",
            "pacemaker-cli-utils",
            "corosync",
            "pcs",
            "resource-agents",
            "fence-agents",
            "haproxy",
            "curl",
          ],
          // RHEL family: the High Availability repository (its id on Rocky/Alma; RHEL subscribes to it)
          rhel: {
            names: ["pacemaker", "corosync", "pcs", "resource-agents", "fence-agents-all", "haproxy", "curl"],
            enableRepos: ["highavailability"],
          },
        }),
      }),
      step({
        name: "hacluster password",
        type: fileStep,
        notify: ["set hacluster password"],
        params: (v) =>
          managedFile(pwFile, `${settings(v.inventory).haclusterPassword ?? v.get(HACLUSTER_PASSWORD)}\n`, {
            mode: "0600",
            secret: true,
          }),
      }),
      step({
        name: "pcsd running",
        type: serviceStep,
        params: () => ({ name: "pcsd", enabled: true, state: "started" }),
      }),
      step({
        name: "haproxy.cfg",
        type: fileStep,
        notify: ["reload haproxy"],
        params: (v) =>
          managedFile("/etc/haproxy/haproxy.cfg", controlPlaneHaproxyCfg(v), {
            validate: "haproxy -c -q -f %s",
          }),
      }),
      // Debian's haproxy.service restarts a dead haproxy itself (Restart=always), so Pacemaker would
      // never see it fail and migration-threshold would never move the VIP: Pacemaker restarts it.
      step({
        name: "haproxy restarts left to Pacemaker",
        type: fileStep,
        notify: ["reload systemd"],
        params: () =>
          managedFile(
            "/etc/systemd/system/haproxy.service.d/50-haprov-pacemaker.conf",
            "# Managed by haprov: Pacemaker restarts haproxy and counts its failures (migration-threshold).\n[Service]\nRestart=no\n",
          ),
      }),
      // Pacemaker starts and stops haproxy: enabled in systemd too, it would start twice (§4.4 pitfall 2).
      step({
        name: "haproxy left to Pacemaker",
        type: serviceStep,
        params: () => ({ name: "haproxy", enabled: false, state: "unmanaged" }),
      }),
      leaveDefaultCluster(name),
    ],
    handlers: [
      { name: "reload systemd", run: () => "systemctl daemon-reload", serial: false },
      {
        name: "set hacluster password",
        run: () => `printf 'hacluster:%s\\n' "$(cat ${command(pwFile)})" | chpasswd`,
        serial: false,
      },
      {
        name: "reload haproxy",
        // only where Pacemaker runs it; elsewhere it starts with the new file
        run: () => "if systemctl is-active --quiet haproxy; then systemctl reload haproxy; fi",
        verify: () =>
          `! systemctl is-active --quiet haproxy || ${sh`curl -sf --max-time 2 -o /dev/null ${`http://127.0.0.1:${HAPROXY_STATS_PORT}/healthz`}`}`,
        serial: true,
      },
    ],
    rollLast: () => holdsVip(clusterOf(input.inventory, ["pacemaker"]).vip),
  });
}
