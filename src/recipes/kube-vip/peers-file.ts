import { clusterOf } from "../../config/schema.js";
import { dirname } from "node:path";
import { change, noop, skip } from "../../core/action.js";
import type { HandlerDef } from "../../core/phase.js";
import { sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { pathExists } from "../../facts/file-state.js";
import { fileStep } from "../../steps/file.js";
import type { Condition } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { stepsOf } from "../blocks/step.js";
import { hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { BGP_PEERS_FILE, KUBE_VIP_MANIFEST, peersInFile, renderBgpPeersFile } from "./manifest.js";

/**
 * kube-vip's BGP peers with passwords, in a 0600 file on the host instead of the pod's env
 * (manifest.ts, issue #20). The pod cannot start without it (hostPath type File), so it is
 * written before each node's manifest — once, if absent — and kept by the last phase, where a
 * changed password restarts that node's kube-vip (`restart kube-vip`).
 */
const wanted = (v: HostView) => {
  const b = clusterOf(v.inventory, ["kube-vip"]).kubeVip.bgp;
  return b && peersInFile({ ...b, routerId: "" }) ? renderBgpPeersFile(b.peers) : undefined;
};

/** Before a node's first manifest: the file, when it is missing (its content is kept later). */
export function peersFileFirst(input: RecipeInput, applies: Condition): BoundStep {
  const exists = pathExists(BGP_PEERS_FILE);
  return {
    name: "kube-vip BGP peers file",
    type: "kube-vip-peers-file",
    notify: [],
    facts: () => [exists],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      const why = applies.test(v);
      if (why !== undefined) return skip(why);
      const content = wanted(v);
      if (content === undefined) return skip("no BGP peer has a password: the peers are in the pod's env");
      if (facts.get(exists)) return noop(`${BGP_PEERS_FILE} exists (its content is kept by the last phase)`);
      return change(`write ${BGP_PEERS_FILE} (0600, the BGP peers and their passwords)`, [
        // before kubeadm has run, /etc/kubernetes may not exist yet
        { kind: "exec", command: sh`mkdir -p -m 0755 ${dirname(BGP_PEERS_FILE)}` },
        {
          kind: "write",
          path: BGP_PEERS_FILE,
          content: Buffer.from(content),
          mode: "0600",
          owner: "root",
          group: "root",
        },
      ]);
    },
  };
}

/** The file kept as the inventory says; a change restarts that node's kube-vip. */
export function peersFileKept(input: RecipeInput): BoundStep {
  return stepsOf(input)({
    name: "kube-vip BGP peers file",
    type: fileStep,
    when: {
      test: (v) =>
        wanted(v) === undefined ? "no BGP peer has a password: the peers are in the pod's env" : undefined,
    },
    notify: ["restart kube-vip"],
    params: (v) => managedFile(BGP_PEERS_FILE, wanted(v)!, { mode: "0600", secret: true }),
  });
}

/**
 * A static pod is restarted by taking its manifest away until the kubelet has stopped it, then
 * putting it back; done when a kube-vip process started after the peers file was written.
 */
export const restartKubeVip: HandlerDef = {
  name: "restart kube-vip",
  run: () =>
    [
      sh`mv ${KUBE_VIP_MANIFEST} ${`${KUBE_VIP_MANIFEST}.haprov-restart`}`,
      "for i in $(seq 120); do pgrep -x kube-vip >/dev/null || break; sleep 0.5; done",
      sh`mv ${`${KUBE_VIP_MANIFEST}.haprov-restart`} ${KUBE_VIP_MANIFEST}`,
    ].join(" && "),
  verify: () => kubeVipStartedAfterFile(BGP_PEERS_FILE),
  serial: true,
};

/**
 * Exit 0 once a kube-vip process (comm "kube-vip") started after `file` was last written.
 *
 * Compared to the hundredth of a second: a process's start is the boot time plus its start ticks
 * (/proc/PID/stat field 22), and the boot time is now minus /proc/uptime, not /proc/stat's btime,
 * which is whole seconds rounded down and so puts a process started in the same second as the write
 * up to a second before it (the kubelet polls every second: a restart that never counted).
 * The 0.05 s slack covers the two clocks' resolution; a process started that close before the write
 * cannot be the one the write replaced.
 */
export const kubeVipStartedAfterFile = (file: string) =>
  [
    sh`m=$(stat -c %.9Y ${file}) || exit 1`,
    "up=$(cut -d' ' -f1 /proc/uptime); now=$(date +%s.%N); hz=$(getconf CLK_TCK)",
    `for p in $(pgrep -x kube-vip); do st=$(awk '{ print $22 }' "/proc/$p/stat" 2>/dev/null) || continue; [ -n "$st" ] || continue`,
    `  awk -v n="$now" -v u="$up" -v s="$st" -v h="$hz" -v m="$m" 'BEGIN { exit !(n - u + s / h >= m - 0.05) }' && exit 0`,
    "done",
    "exit 1",
  ].join("\n");
