import { dirname } from "node:path";
import type { HostSpec } from "../../core/host.js";
import { change, noop, skip, type Action } from "../../core/action.js";
import { fragment, sh } from "../../core/quote.js";
import { valueOf } from "../../core/run-key.js";
import type { BoundStep } from "../../core/step.js";
import { pathExists } from "../../facts/file-state.js";
import { commandStep } from "../../steps/command.js";
import { fileStep } from "../../steps/file.js";
import { serviceStep } from "../../steps/service.js";
import { waitStep } from "../../steps/wait.js";
import { all, when } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, hostView, type RecipeInput } from "../blocks/view.js";
import { renderJoinConfig } from "./config.js";
import { caCertHash, clusterShape, nodeOf, type KubeadmOptions } from "./init.js";
import {
  ADMIN_CONF,
  CA_CERT,
  CERTIFICATE_KEY,
  INIT_NODE,
  INITIALISED,
  isInitNode,
  JOIN_CONFIG,
  joinToken,
  KUBELET_CONF,
  notInitNode,
  pkiCopy,
  pkiFilesFor,
  UNJOINED,
} from "./values.js";

/** Nodes that still have to join, read on every host ("" from a node that has joined). */
const unjoinedGather = gatherInto(UNJOINED, (ctx) => sh`test -f ${KUBELET_CONF} || echo ${ctx.host.name}`, {
  otherwise: "empty",
});

/**
 * What joining needs, read once for the whole cluster: which nodes still have to join, the CA
 * certificate (public) of the initialised control plane, and with `pki: upload` a fresh
 * certificate key (the uploaded certificates expire after two hours, §0.3) — only when some
 * control-plane node still has to join.
 */
export function joinTokenPhase(input: RecipeInput, nodes: HostSpec[]) {
  const step = stepsOf(input);
  const cps = byRole(input.hosts, "control-plane").map((h) => h.name);
  const cpToJoin = when((v) => {
    const waiting = cps.filter((n) => n !== v.get(INIT_NODE) && v.answers(UNJOINED)[n]);
    return waiting.length > 0 ? undefined : "every control-plane node has joined";
  });
  const upload = when((v) =>
    v.inventory.cluster.pki === "upload" ? undefined : "pki: copy (haprov copies the shared keys)",
  );
  return phase(input, {
    name: "join token",
    hosts: nodes,
    gather: [
      unjoinedGather,
      gatherInto(CA_CERT, () => sh`${fragment(INITIALISED)} && base64 -w0 /etc/kubernetes/pki/ca.crt`),
    ],
    steps: [
      step({
        name: "upload certificates",
        type: commandStep,
        when: all(isInitNode, upload, cpToJoin),
        params: () => ({
          run: "kubeadm init phase upload-certs --upload-certs | tail -n 1",
          register: CERTIFICATE_KEY.name,
          secret: true,
        }),
      }),
    ],
  });
}

/**
 * Control-plane joins, one node at a time (quorum-safe; the roll stops at the first failure): the
 * shared keys copied from the init node when `pki: copy`, then `kubeadm join --control-plane`, the
 * node's API server ready, and the admin kubeconfig for the login user.
 */
export function joinControlPlanePhase(input: RecipeInput, o: KubeadmOptions, afterJoin: BoundStep[] = []) {
  const step = stepsOf(input);
  const pkiFiles = pkiFilesFor(o.externalEtcd !== undefined);
  return phase(input, {
    name: "join control plane",
    hosts: byRole(input.hosts, "control-plane"),
    serial: 1,
    gather: pkiFiles.map((f) =>
      // Read into memory only, from the initialised node (the first in inventory order: the
      // node the init phase chose); nothing is read with pki: upload.
      gatherInto(f.key, () =>
        input.inventory.cluster.pki === "copy"
          ? sh`${fragment(INITIALISED)} && base64 -w0 ${f.path}`
          : "true",
      ),
    ),
    steps: [
      ...pkiFiles.map((f) =>
        step({
          name: `pki ${f.file}`,
          type: fileStep,
          when: all(notInitNode, pkiCopy),
          params: (v) =>
            managedFile(f.path, v.get(f.key), { mode: "0600", secret: true, encoding: "base64" }),
        }),
      ),
      joinStep(input, o, true),
      kubeletRunning(input),
      ...afterJoin,
      step({
        name: "API server ready",
        type: waitStep,
        params: (v) => ({
          until: sh`curl -sfk --max-time 2 -o /dev/null ${`https://${v.host.address}:${v.inventory.cluster.apiServerPort}/readyz`}`,
          what: "the API server on this node is ready",
          timeoutSec: 120,
        }),
      }),
      step({
        name: "kubeconfig for the login user",
        type: commandStep,
        params: (v) => {
          const user = v.host.ssh.user;
          const home = sh`h=$(getent passwd ${user} | cut -d: -f6)`;
          return {
            run: `${home} && ${sh`install -D -m 0600 -o ${user} -g "$(id -gn ${user})" ${ADMIN_CONF}`} "$h/.kube/config"`,
            unless: `${home} && ${sh`cmp -s ${ADMIN_CONF}`} "$h/.kube/config" && [ "$(stat -c %U:%a "$h/.kube/config")" = ${sh`${`${user}:600`}`} ]`,
            secret: false,
          };
        },
      }),
    ],
  });
}

/** Worker joins, in parallel. */
export function joinWorkersPhase(input: RecipeInput, o: KubeadmOptions) {
  return phase(input, {
    name: "join workers",
    hosts: byRole(input.hosts, "worker"),
    gather: [unjoinedGather],
    steps: [joinStep(input, o, false), kubeletRunning(input)],
  });
}

/**
 * The kubelet enabled and running on a node that is part of the cluster: `kubeadm init`/`join`
 * start it, and a kubelet someone stopped (or left disabled across a reboot) is put back. On a
 * control-plane node it is what runs the static pods.
 */
function kubeletRunning(input: RecipeInput) {
  return stepsOf(input)({
    name: "kubelet running",
    type: serviceStep,
    params: () => ({ name: "kubelet", enabled: true, state: "started" as const }),
  });
}

/**
 * `kubeadm join` of this node. Its bootstrap token is made on the init node on its behalf just
 * before (15 minutes, its own), written into a 0600 join config that exists only for the join,
 * and deleted on the init node afterwards whether the join worked or not. A failed join is reset
 * so the next run starts clean (REFERENCE.md §0.1.3).
 */
function joinStep(input: RecipeInput, o: KubeadmOptions, controlPlane: boolean): BoundStep {
  const name = controlPlane ? "kubeadm join --control-plane" : "kubeadm join";
  const joined = pathExists(KUBELET_CONF);
  return {
    name,
    type: "kubeadm-join",
    notify: [],
    facts: () => [joined],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      if (controlPlane && v.get(INIT_NODE) === v.host.name)
        return skip(`${v.host.name} initialised the cluster`);
      if (facts.get(joined)) return noop(`${v.host.name} has joined (${KUBELET_CONF} exists)`);
      const init = v.get(INIT_NODE);
      const token = joinToken(v.host.name);
      const caHash = caCertHash(Buffer.from(v.get(CA_CERT), "base64").toString());
      const certificateKey =
        controlPlane && v.inventory.cluster.pki === "upload" ? v.get(CERTIFICATE_KEY) : undefined;
      const description = `haprov: join ${v.host.name}`;
      const actions: Action[] = [
        {
          kind: "exec",
          on: init,
          command: sh`kubeadm token create --ttl 15m --description ${description}`,
          register: { name: token.name, secret: true },
        },
        { kind: "exec", command: sh`mkdir -p -m 0755 ${dirname(JOIN_CONFIG)}` },
        {
          kind: "write",
          path: JOIN_CONFIG,
          mode: "0600",
          owner: "root",
          group: "root",
          content: (scope) =>
            Buffer.from(
              renderJoinConfig(
                clusterShape(input, o),
                nodeOf(v),
                { token: valueOf(scope, token), caHash, certificateKey },
                controlPlane,
              ),
            ),
        },
        {
          kind: "exec",
          command: sh`kubeadm join --config ${JOIN_CONFIG} >/dev/null || { rc=$?; kubeadm reset -f >/dev/null 2>&1; exit $rc; }`,
          timeoutMs: 600_000,
        },
      ];
      const always: Action[] = [
        { kind: "exec", command: sh`rm -f ${JOIN_CONFIG}` },
        {
          kind: "exec",
          on: init,
          // Only the token id: the secret half never needs to reach a command line again.
          command: (scope) =>
            scope.registered[token.name]
              ? sh`kubeadm token delete ${scope.registered[token.name]!.split(".")[0]!} >/dev/null`
              : "true",
        },
      ];
      return {
        ...change(
          `join the cluster${controlPlane ? " as a control-plane node" : ""} ${o.via}, with a bootstrap token made on ${init} for this join only`,
          actions,
        ),
        always,
      };
    },
  };
}
