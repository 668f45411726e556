import { createHash, X509Certificate } from "node:crypto";
import { fragment, sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { change, noop, skip } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import { pathExists } from "../../facts/file-state.js";
import { fileStep } from "../../steps/file.js";
import { waitStep } from "../../steps/wait.js";
import { all, when } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { freshAtStart, KUBEADM_STATE, kubeadmState, NODE_STATES, stateText } from "./node-state.js";
import type { Endpoint } from "../endpoint.js";
import { renderInitConfig, type ClusterShape, type ExternalEtcd } from "./config.js";
import { renderFlannel } from "./flannel.js";
import { ADMIN_CONF, INIT_CONFIG, INIT_NODE, INITIALISED, isInitNode } from "./values.js";

/** What the kubeadm phases need from a mode: where the API is reached, and which names it serves. */
export interface KubeadmOptions {
  endpoint: Endpoint;
  /** In words, for step names: "through the VIP", "through the local proxy". */
  via: string;
  /** Extra subject names of the API server certificate (the VIP, every control-plane address…). */
  certSANs: string[];
  /** etcd outside kubeadm (design E); absent: kubeadm's stacked etcd. */
  externalEtcd?: ExternalEtcd | undefined;
}

export function clusterShape(input: RecipeInput, o: KubeadmOptions): ClusterShape {
  const c = input.inventory.cluster;
  return {
    kubernetesVersion: c.kubernetesVersion,
    endpoint: `${o.endpoint.host}:${o.endpoint.port}`,
    podCidr: c.podCidr,
    serviceCidr: c.serviceCidr,
    apiServerPort: c.apiServerPort,
    certSANs: o.certSANs,
    externalEtcd: o.externalEtcd,
  };
}

export const nodeOf = (v: HostView) => ({ name: v.host.name, address: v.host.address });

/**
 * The init phase on the control-plane hosts: which node initialises is decided from the hosts'
 * state (a node with a cluster wins over inventory order; with none, the first control-plane
 * host — refused when any could not be asked), then `kubeadm init` there with a validated config,
 * the barrier on /readyz through the endpoint, and the CNI (REFERENCE.md §0.3, §1.2 steps 5–6).
 * `beforeInit` lets a mode put its own steps on the init node first (kube-vip's manifest).
 */
/** The init node's kubeadm configuration (haprov's record of the cluster; repairs read it). */
function initConfigStep(input: RecipeInput, o: KubeadmOptions): BoundStep {
  return stepsOf(input)({
    name: "kubeadm config",
    type: fileStep,
    when: isInitNode,
    params: (v) =>
      managedFile(INIT_CONFIG, renderInitConfig(clusterShape(input, o), nodeOf(v)), {
        mode: "0600",
        validate: "kubeadm config validate --config %s",
      }),
  });
}

/**
 * After a node removal (issue #21): the init node — a survivor, chosen again when NODE was it —
 * gets the files the next `up` keeps there: the kubeadm configuration of the cluster without NODE,
 * and the CNI manifest (applied again when it is new there: an unchanged apply).
 */
export function initConfigPhase(input: RecipeInput, o: KubeadmOptions) {
  return phase(input, {
    name: "init node files",
    hosts: byRole(input.hosts, "control-plane"),
    requires: "any",
    gather: [
      gatherInto(INIT_NODE, (ctx) => sh`${fragment(INITIALISED)} && echo ${ctx.host.name}`, {
        otherwise: "empty",
      }),
    ],
    steps: [initConfigStep(input, o), ...cniSteps(input)],
    handlers: [applyCni],
  });
}

export function initPhase(input: RecipeInput, o: KubeadmOptions, beforeInit: BoundStep[] = []) {
  const step = stepsOf(input);
  const stacked = o.externalEtcd === undefined;
  const url = (path: string) => `https://${o.endpoint.host}:${o.endpoint.port}${path}`;
  return phase(input, {
    name: "init",
    hosts: byRole(input.hosts, "control-plane"),
    gather: [
      gatherInto(INIT_NODE, (ctx) => sh`${fragment(INITIALISED)} && echo ${ctx.host.name}`, {
        otherwise: "first-host",
      }),
      gatherInto(NODE_STATES, () => kubeadmState(stacked).script, { otherwise: "empty" }),
    ],
    steps: [
      ...beforeInit,
      initConfigStep(input, o),
      initStep(input, stacked),
      step({
        name: `API server ready ${o.via}`,
        type: waitStep,
        when: isInitNode,
        params: () => ({
          until: sh`curl -sfk --max-time 2 -o /dev/null ${url("/readyz")}`,
          what: `the API server answers ${o.via}`,
          timeoutSec: 120,
        }),
      }),
      ...cniSteps(input),
    ],
    handlers: [applyCni],
  });
}

const FLANNEL_MANIFEST = "/etc/haprov/kube-flannel.yml";

const applyCni = {
  name: "apply flannel",
  run: () => sh`kubectl --kubeconfig ${ADMIN_CONF} apply -f ${FLANNEL_MANIFEST} >/dev/null`,
  serial: false,
};

/**
 * `kubeadm init` on the init node, only where no control-plane host has kubeadm state of a cluster
 * that is not working (issue #19): an initialised node makes this a no-op, and state without an
 * initialised node anywhere (a lost admin.conf, an interrupted init, another cluster's data) is
 * refused, never initialised over. A failed init is reset only when the node had no kubeadm
 * state when the run began (the engine checks it: core/guard.ts), so the next run starts clean.
 */
function initStep(input: RecipeInput, stacked: boolean): BoundStep {
  const state = kubeadmState(stacked);
  const initialised = pathExists(ADMIN_CONF);
  return {
    name: "kubeadm init",
    type: "kubeadm-init",
    notify: [],
    facts: () => [initialised, state],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      const why = isInitNode.test(v);
      if (why !== undefined) return skip(why);
      if (facts.get(initialised)) return noop(`${ADMIN_CONF} exists: ${v.host.name} runs the cluster`);
      const leftovers = Object.entries(v.answers(NODE_STATES)).filter(([, found]) => found);
      if (leftovers.length > 0)
        throw new HaprovError(
          `no control-plane node runs a cluster (none has ${ADMIN_CONF} and an API server manifest), but ${leftovers
            .map(([h, found]) => `${h} has ${KUBEADM_STATE} (${stateText(found.split("\n"))})`)
            .join("; ")}: haprov does not run kubeadm init over it`,
          {
            hint: "if it is a cluster you want back, put back its admin.conf (or restore it); if it is left from an attempt and nothing in it matters, run kubeadm reset -f there yourself, then run again",
          },
        );
      return {
        ...change(`initialise the cluster with kubeadm init on ${v.host.name}`, [
          { kind: "exec", command: sh`kubeadm init --config ${INIT_CONFIG} >/dev/null`, timeoutMs: 600_000 },
        ]),
        // A failed init is reset so the next run starts clean (REFERENCE.md §0.1.3) — only what
        // this run made.
        onFailure: [
          {
            kind: "exec",
            command: "kubeadm reset -f >/dev/null 2>&1",
            what: "kubeadm reset",
            guards: [freshAtStart(stacked)],
          },
        ],
      };
    },
  };
}

/** The CNI, applied from the init node before any other node joins (REFERENCE.md §0.3). */
function cniSteps(input: RecipeInput): BoundStep[] {
  const flannel = when((v) =>
    v.inventory.cluster.cni === "flannel" ? undefined : `cni: ${v.inventory.cluster.cni}`,
  );
  return [
    stepsOf(input)({
      name: "flannel manifest",
      type: fileStep,
      when: all(isInitNode, flannel),
      notify: ["apply flannel"],
      params: (v) => managedFile(FLANNEL_MANIFEST, renderFlannel(v.inventory.cluster.podCidr)),
    }),
  ];
}

/**
 * kubeadm's discovery-token-ca-cert-hash: sha256 of the CA certificate's SubjectPublicKeyInfo (DER),
 * computed here from the public certificate instead of with two openssl runs on a host.
 */
export function caCertHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}
