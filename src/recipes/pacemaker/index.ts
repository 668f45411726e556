import type { Inventory } from "../../config/schema.js";
import { change, noop, skip } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { command, fragment, sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import type { BoundStep } from "../../core/step.js";
import { commandStep } from "../../steps/command.js";
import { fileStep } from "../../steps/file.js";
import { packageStep } from "../../steps/package.js";
import { serviceStep } from "../../steps/service.js";
import { waitStep } from "../../steps/wait.js";
import { commandSucceeds } from "../../facts/file-state.js";
import { when } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { haproxyCfgFor, kubeadmOptions } from "../keepalived-haproxy/index.js";
import { kubeadmPhases } from "../kubeadm/index.js";
import { INIT_NODE } from "../kubeadm/values.js";
import type { Recipe, RuleIssue } from "../recipe.js";
import { pacemakerNodesSource, vipDesignSources } from "../membership/sources.js";
import { holdsVip, VIP_HOLDER, vipGatePhase } from "../vip/gate.js";
import { HAPROXY_STATS_PORT } from "../vip/lb-phase.js";
import { vipEndpoint, vipRules } from "../vip/rules.js";
import { cibFixes, fixScript, VIP_ID, type CibWant } from "./cib.js";
import { pacemakerStatus } from "./status.js";
import { parseXml, type XmlElement } from "./xml.js";

/**
 * Design D (REFERENCE.md §4, seed 002) in its kubeadm form: a Pacemaker/Corosync cluster, built and
 * kept with pcs, owns the VIP (IPaddr2) and a cloned haproxy (systemd:haproxy, haproxy.service
 * disabled in systemd) on the control-plane nodes; kubeadm runs behind VIP:lbPort as in design A.
 * The seed's active/passive controller-manager/scheduler group does not apply to kubeadm's static
 * pods, which elect their own leaders (README).
 */
export const PCMK_MEMBER = runKey(
  "pcmkMember",
  "the first node that is already a member of this Pacemaker cluster",
);
export const HACLUSTER_PASSWORD = runKey("haclusterPassword", "the password of the hacluster user", {
  secret: true,
});

const COROSYNC_CONF = "/etc/corosync/corosync.conf";
const KNOWN_HOSTS = "/var/lib/pcsd/known-hosts";
const passwordFile = (cluster: string) => `/var/lib/haprov/${cluster}/hacluster-password`;
const settings = (inv: Inventory) => inv.cluster.pacemaker!;

/** This node is a member of *this* cluster: its corosync.conf names it (Debian's default is "debian"). */
const isMember = (cluster: string) =>
  sh`grep -qE ${`^[[:space:]]*cluster_name:[[:space:]]*${cluster}[[:space:]]*$`} ${COROSYNC_CONF}`;

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

const leader = (v: HostView) => v.get(PCMK_MEMBER);
const isLeader = when((v) =>
  leader(v) === v.host.name ? undefined : `${leader(v)} speaks for the Pacemaker cluster`,
);
const noMemberYet = (v: HostView) => Object.values(v.answers(PCMK_MEMBER)).every((a) => !a);

function cibWant(inv: Inventory, hosts: HostSpec[]): CibWant {
  const cps = byRole(hosts, "control-plane");
  const s = settings(inv);
  return {
    vip: inv.cluster.vip!,
    prefix: inv.cluster.vipPrefix,
    nic: cps[0]?.interface ?? inv.cluster.interface,
    migrationThreshold: s.migrationThreshold,
    failureTimeoutSec: s.failureTimeout,
    fencing: s.fencing,
  };
}

/** The live CIB's configuration (empty before the cluster exists). */
const cibFact: Fact<XmlElement> = {
  key: "pacemaker-cib",
  script: "cibadmin --query --scope configuration 2>/dev/null || true",
  parse: (out) => parseXml(out),
};

/** The packages, the hacluster password, pcsd, and haproxy's config for Pacemaker to run. */
function stackPhase(input: RecipeInput, cps: HostSpec[]) {
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
          managedFile("/etc/haproxy/haproxy.cfg", haproxyCfgFor(v), { validate: "haproxy -c -q -f %s" }),
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
    rollLast: () => holdsVip(input.inventory.cluster.vip!),
  });
}

/**
 * The cluster, one node at a time: the node that speaks for it (the first member, or on a new
 * cluster the first host — refused when a host could not be asked) authenticates every node with
 * pcs and creates the cluster once; a node not yet in it is added by that node on its behalf; the
 * totem token is kept; then the resources, judged on the CIB by id (cib.ts).
 */
function clusterPhase(input: RecipeInput, cps: HostSpec[]) {
  const step = stepsOf(input);
  const inv = input.inventory;
  const name = inv.cluster.name;
  const token = settings(inv).token;
  const nodes = cps.flatMap((h) => [h.name, `addr=${h.address}`]);
  const knownAll =
    sh`test -f ${KNOWN_HOSTS}` +
    cps.map((h) => ` && ${sh`grep -q ${`"${h.name}"`} ${KNOWN_HOSTS}`}`).join("");
  return phase(input, {
    name: "pacemaker cluster",
    hosts: cps,
    requires: "any",
    serial: 1,
    steps: [
      authStep(input, knownAll, nodes),
      step({
        name: "create the cluster",
        type: commandStep,
        when: when((v) =>
          leader(v) !== v.host.name
            ? `${leader(v)} creates the cluster`
            : noMemberYet(v)
              ? undefined
              : "the cluster exists",
        ),
        params: () => ({
          run: sh`pcs cluster setup ${name} ${nodes} totem ${`token=${token}`} --start --enable --wait=120`,
          unless: isMember(name),
          secret: false,
          timeoutMs: 300_000,
        }),
      }),
      joinStep(input, nodes),
      step({
        name: "corosync token",
        type: commandStep,
        when: isLeader,
        params: () => ({
          run: sh`pcs cluster config update totem ${`token=${token}`}`,
          unless: sh`grep -qE ${`^[[:space:]]*token:[[:space:]]*${token}[[:space:]]*$`} ${COROSYNC_CONF}`,
          secret: false,
        }),
      }),
      step({
        name: "quorate",
        type: waitStep,
        params: () => ({
          until: `crm_mon -1 --output-as=xml 2>/dev/null | grep -q 'with_quorum="true"'`,
          what: "this node is in a quorate Pacemaker cluster",
          timeoutSec: 120,
        }),
      }),
      resourcesStep(input),
      step({
        name: "VIP started",
        type: waitStep,
        when: isLeader,
        params: () => ({
          until: sh`crm_resource --locate --resource ${VIP_ID} 2>/dev/null | grep -q 'is running on'`,
          what: "Pacemaker runs the VIP on a node",
          timeoutSec: 120,
        }),
      }),
    ],
  });
}

/**
 * pcs on the speaking node authenticated to every node (its known-hosts lists them), with the
 * hacluster password on pcs's stdin: it never reaches a command line.
 */
function authStep(input: RecipeInput, knownAll: string, nodes: string[]): BoundStep {
  const known = commandSucceeds(knownAll);
  const names = byRole(input.hosts, "control-plane").map((h) => h.name);
  return {
    name: "authenticate the nodes",
    type: "pcs-host-auth",
    notify: [],
    facts: () => [known],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      if (leader(v) !== v.host.name) return skip(`${leader(v)} speaks for the Pacemaker cluster`);
      if (facts.get(known)) return noop(`pcs on ${v.host.name} knows ${names.join(", ")}`);
      return change(`authenticate ${names.join(", ")} with pcs`, [
        {
          kind: "exec",
          command: sh`pcs host auth ${nodes} -u hacluster`,
          stdin: (scope) =>
            `${settings(v.inventory).haclusterPassword ?? scope.registered[HACLUSTER_PASSWORD.name] ?? ""}\n`,
        },
      ]);
    },
  };
}

/** A node not yet in the cluster is added by the speaking node, on its behalf. */
function joinStep(input: RecipeInput, _nodes: string[]): BoundStep {
  const name = input.inventory.cluster.name;
  const member: Fact<boolean> = {
    key: `pcmk-member:${name}`,
    script: isMember(name),
    parse: (_o, c) => c === 0,
  };
  return {
    name: "join the cluster",
    type: "pcs-node-add",
    notify: [],
    facts: () => [member],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      if (facts.get(member)) return noop(`${v.host.name} is a member of ${name}`);
      if (noMemberYet(v)) return skip(`${leader(v)} creates the cluster with every node`);
      return change(`be added to the cluster by ${leader(v)}`, [
        {
          kind: "exec",
          on: leader(v),
          command: sh`pcs cluster node add ${v.host.name} ${`addr=${v.host.address}`} --start --enable --wait=120`,
          timeoutMs: 300_000,
        },
      ]);
    },
  };
}

/** The resources, constraints and properties, compared with the live CIB by id (cib.ts). */
function resourcesStep(input: RecipeInput): BoundStep {
  const want = cibWant(input.inventory, input.hosts);
  return {
    name: "resources",
    type: "pacemaker-cib",
    notify: [],
    facts: () => [cibFact],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      if (leader(v) !== v.host.name) return skip(`${leader(v)} edits the cluster's configuration`);
      const fixes = cibFixes(facts.get(cibFact), want);
      if (fixes.length === 0) return noop("the VIP, the haproxy clone, their constraints and fencing match");
      const { script, stdin } = fixScript(fixes);
      return change(fixes.map((f) => f.what).join("; "), [
        { kind: "exec", command: script, stdin, timeoutMs: 120_000 },
      ]);
    },
  };
}

function rules(inv: Inventory): RuleIssue[] {
  const issues: RuleIssue[] = [...vipRules(inv, "control-plane")];
  if (inv.cluster.lbPort === inv.cluster.apiServerPort)
    issues.push({
      path: ["cluster", "lbPort"],
      message: `must differ from the API server port ${inv.cluster.apiServerPort}: haproxy runs on the control-plane nodes, where kube-apiserver already binds *:${inv.cluster.apiServerPort} (use 8443)`,
      severity: "error",
    });
  const s = inv.cluster.pacemaker;
  if (!s) {
    issues.push({
      path: ["cluster"],
      message:
        'mode pacemaker needs "pacemaker: { fencing: [...] }": a Pacemaker cluster without a fence device starts nothing (write fencing: disabled for a lab)',
      severity: "error",
    });
    return issues;
  }
  if (s.fencing === "disabled")
    issues.push({
      path: ["cluster", "pacemaker", "fencing"],
      message:
        "fencing is disabled: a node that stops answering is not powered off before its resources start elsewhere, so two nodes may hold the VIP. Use this only in a lab",
      severity: "warning",
    });
  else {
    const names = new Set(inv.hosts.map((h) => h.name));
    const ids = new Set<string>();
    s.fencing.forEach((d, i) => {
      if (!names.has(d.host))
        issues.push({
          path: ["cluster", "pacemaker", "fencing", i, "host"],
          message: `"${d.host}" is not a host of the inventory`,
          severity: "error",
        });
      if (ids.has(d.id))
        issues.push({
          path: ["cluster", "pacemaker", "fencing", i, "id"],
          message: `duplicate fence device id "${d.id}"`,
          severity: "error",
        });
      ids.add(d.id);
      for (const [k, val] of Object.entries(d.options))
        if (/pass/i.test(k) && String(val).length < 6)
          issues.push({
            path: ["cluster", "pacemaker", "fencing", i, "options", k],
            message:
              "a password needs at least 6 characters: a shorter one cannot be masked safely in output",
            severity: "error",
          });
    });
  }
  return issues;
}

export const designD: Recipe = {
  mode: "pacemaker",
  title: "a Pacemaker/Corosync cluster (pcs) holds the VIP and a cloned haproxy, kubeadm behind the VIP",
  values: [PCMK_MEMBER, VIP_HOLDER, INIT_NODE],
  phases(input) {
    const cps = byRole(input.hosts, "control-plane");
    const endpoint = vipEndpoint(input.inventory);
    return kubeadmPhases(input, kubeadmOptions(input), {
      lb: [
        stackPhase(input, cps),
        clusterPhase(input, cps),
        vipGatePhase(input, cps, endpoint, "control-plane node"),
      ],
    });
  },
  rules,
  endpoint: vipEndpoint,
  operatorEndpoint: (inv) => ({ ...vipEndpoint(inv), why: "the VIP and the load balancer's port" }),
  status: pacemakerStatus,
  members: (host, inv) =>
    vipDesignSources(host, inv, {
      carrier: (h) => h.roles.includes("control-plane"),
      port: inv.cluster.lbPort,
      extra: [pacemakerNodesSource],
    }),
  lab: {
    hosts: (n) => Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane"] })),
    cluster: (vip) => [
      `vip: ${vip.address}`,
      `vipPrefix: ${vip.prefix}`,
      "interface: eth0",
      "lbPort: 8443",
      "pacemaker: { fencing: disabled }",
    ],
  },
};
