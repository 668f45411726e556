import { clusterOf, type Inventory } from "../../config/schema.js";
import { change, noop, skip } from "../../core/action.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { commandStep } from "../../steps/command.js";
import { waitStep } from "../../steps/wait.js";
import { commandSucceeds } from "../../facts/file-state.js";
import { when } from "../blocks/condition.js";
import { phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, hostView, type RecipeInput } from "../blocks/view.js";
import { cibFixes, fixScript, VIP_ID, type CibWant } from "./cib.js";
import {
  cibFact,
  COROSYNC_CONF,
  HACLUSTER_PASSWORD,
  isLeader,
  isMember,
  KNOWN_HOSTS,
  leader,
  noMemberYet,
  settings,
} from "./values.js";

function cibWant(inv: Inventory, hosts: HostSpec[]): CibWant {
  const cps = byRole(hosts, "control-plane");
  const s = settings(inv);
  return {
    vip: clusterOf(inv, ["pacemaker"]).vip,
    prefix: clusterOf(inv, ["pacemaker"]).vipPrefix,
    nic: cps[0]?.interface ?? inv.cluster.interface,
    migrationThreshold: s.migrationThreshold,
    failureTimeoutSec: s.failureTimeout,
    fencing: s.fencing,
  };
}

/**
 * The cluster, one node at a time: the node that speaks for it (the first member, or on a new
 * cluster the first host — refused when a host could not be asked) authenticates every node with
 * pcs and creates the cluster once; a node not yet in it is added by that node on its behalf; the
 * totem token is kept; then the resources, judged on the CIB by id (cib.ts).
 */
export function clusterPhase(input: RecipeInput, cps: HostSpec[]) {
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
