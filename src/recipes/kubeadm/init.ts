import { createHash, X509Certificate } from "node:crypto";
import { fragment, sh } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { commandStep } from "../../steps/command.js";
import { fileStep } from "../../steps/file.js";
import { waitStep } from "../../steps/wait.js";
import { all, when } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import type { Endpoint } from "../recipe.js";
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
export function initPhase(input: RecipeInput, o: KubeadmOptions, beforeInit: BoundStep[] = []) {
  const step = stepsOf(input);
  const url = (path: string) => `https://${o.endpoint.host}:${o.endpoint.port}${path}`;
  return phase(input, {
    name: "init",
    hosts: byRole(input.hosts, "control-plane"),
    gather: [
      gatherInto(INIT_NODE, (ctx) => sh`${fragment(INITIALISED)} && echo ${ctx.host.name}`, {
        otherwise: "first-host",
      }),
    ],
    steps: [
      ...beforeInit,
      step({
        name: "kubeadm config",
        type: fileStep,
        when: isInitNode,
        params: (v) =>
          managedFile(INIT_CONFIG, renderInitConfig(clusterShape(input, o), nodeOf(v)), {
            mode: "0600",
            validate: "kubeadm config validate --config %s",
          }),
      }),
      step({
        name: "kubeadm init",
        type: commandStep,
        when: isInitNode,
        params: () => ({
          // A failed init is reset so the next run starts clean (REFERENCE.md §0.1.3).
          run: sh`kubeadm init --config ${INIT_CONFIG} >/dev/null || { rc=$?; kubeadm reset -f >/dev/null 2>&1; exit $rc; }`,
          creates: ADMIN_CONF,
          secret: false,
          timeoutMs: 600_000,
        }),
      }),
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
    handlers: [
      {
        name: "apply flannel",
        run: () => sh`kubectl --kubeconfig ${ADMIN_CONF} apply -f ${FLANNEL_MANIFEST} >/dev/null`,
        serial: false,
      },
    ],
  });
}

const FLANNEL_MANIFEST = "/etc/haprov/kube-flannel.yml";

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
