import { dirname } from "node:path";
import type { HostSpec } from "../../core/host.js";
import { change, noop, skip, type Action } from "../../core/action.js";
import { HaprovError } from "../../core/errors.js";
import { fragment, sh } from "../../core/quote.js";
import { runKey, valueOf } from "../../core/run-key.js";
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
import { byRole, hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { clusterView } from "../membership/phase.js";
import { etcdHealthProbe, stackedEtcdAccess } from "./etcd-members.js";
import { freshAtStart, KUBEADM_STATE, kubeadmState, stateText } from "./node-state.js";
import { renderJoinConfig } from "./config.js";
import { caCertHash, clusterShape, nodeOf, type KubeadmOptions } from "./init.js";
import {
  ADMIN_CONF,
  CA_CERT,
  CERTIFICATE_KEY,
  INIT_CONFIG,
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
 * `kubeadm join` of this node — or, for a node that is already a member, the repair of what it
 * lost — decided from its own kubeadm state and the membership read before the run changed
 * anything (issue #19). A member is never joined over its own state:
 *
 * - kubelet.conf (and on a control-plane node admin.conf) present: nothing to do;
 * - no kubeadm state and no Node of that name: join. Its bootstrap token is made on the init node
 *   on its behalf just before (15 minutes, its own), written into a 0600 join config that exists
 *   only for the join, and deleted afterwards whether the join worked or not. A failed join is
 *   undone — `kubeadm reset`, then its Node deleted (kubeadm reset keeps it) — only as far as the
 *   engine finds that this run made it and that etcd keeps a healthy majority (core/guard.ts);
 * - kubeadm state, a Node of that name and (stacked etcd) an etcd member: a member that lost a
 *   kubeconfig: made again from the cluster CA on the init node (`kubeadm kubeconfig user`,
 *   kubeadm's documented recovery) and the kubelet restarted;
 * - anything else (state but no membership, or a Node without state): refused, saying what to do.
 */
function joinStep(input: RecipeInput, o: KubeadmOptions, controlPlane: boolean): BoundStep {
  const name = controlPlane ? "kubeadm join --control-plane" : "kubeadm join";
  const stacked = o.externalEtcd === undefined;
  const kubelet = pathExists(KUBELET_CONF);
  const admin = pathExists(ADMIN_CONF);
  const state = kubeadmState(stacked);
  return {
    name,
    type: "kubeadm-join",
    notify: [],
    facts: () => [kubelet, admin, state],
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      const me = v.host.name;
      const isInit = controlPlane && v.get(INIT_NODE) === me;
      const lost = [
        ...(facts.get(kubelet) ? [] : [KUBELET_CONF]),
        ...(controlPlane && !facts.get(admin) ? [ADMIN_CONF] : []),
      ];
      if (lost.length === 0)
        return isInit
          ? skip(`${me} initialised the cluster`)
          : noop(`${me} has joined (${KUBELET_CONF} exists)`);
      const found = facts.get(state);
      const view = clusterView(v);
      const isNode = view?.nodes.includes(me) ?? false;
      const isEtcd = !controlPlane || !stacked || (view?.etcd.includes(me) ?? false);
      if (found.length > 0 && isNode && isEtcd) return repair(input, v, lost, o);
      if (isInit) return skip(`${me} initialised the cluster`);
      if (found.length > 0)
        throw new HaprovError(
          `${me} has ${KUBEADM_STATE} (${stateText(found)}) but is not a member of the cluster (a Node: ${isNode ? "yes" : "no"}${controlPlane && stacked ? `; an etcd member: ${isEtcd ? "yes" : "no"}` : ""}): haprov does not join a node over its own state`,
          {
            hint: `it may be left from an interrupted join or belong to another cluster: look at it, and if nothing on it matters run kubeadm reset -f on ${me} yourself, then run again`,
          },
        );
      if (isNode)
        throw new HaprovError(
          `a Node named ${me} is registered in the cluster, but ${me} has no ${KUBEADM_STATE}: it was reset or reinstalled, and kubeadm refuses a name that is registered and Ready`,
          {
            hint: `delete the stale Node (kubectl delete node ${me}${controlPlane && stacked ? ", and its etcd member if etcdctl member list still shows it" : ""}), then run again`,
          },
        );
      return join(input, v, o, controlPlane, view !== undefined);
    },
  };
}

function join(
  input: RecipeInput,
  v: HostView,
  o: KubeadmOptions,
  controlPlane: boolean,
  membershipRead: boolean,
) {
  const stacked = o.externalEtcd === undefined;
  const me = v.host.name;
  const init = v.get(INIT_NODE);
  const token = joinToken(me);
  const caHash = caCertHash(Buffer.from(v.get(CA_CERT), "base64").toString());
  const certificateKey =
    controlPlane && v.inventory.cluster.pki === "upload" ? v.get(CERTIFICATE_KEY) : undefined;
  const description = `haprov: join ${me}`;
  const fresh = freshAtStart(stacked);
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
    { kind: "exec", command: sh`kubeadm join --config ${JOIN_CONFIG} >/dev/null`, timeoutMs: 600_000 },
  ];
  const onFailure: Action[] = [
    {
      kind: "exec",
      command: "kubeadm reset -f >/dev/null 2>&1",
      what: "kubeadm reset",
      // Its reset removes its etcd member (a learner the join added, or a voter): only while the
      // others keep a healthy majority without it.
      guards: [
        fresh,
        ...(controlPlane && stacked
          ? [
              {
                kind: "quorum" as const,
                group: "etcd",
                member: me,
                effect: "remove" as const,
                on: init,
                probe: etcdHealthProbe(
                  stackedEtcdAccess(byRole(v.hosts, "control-plane").map((h) => h.address)),
                ),
              },
            ]
          : []),
      ],
    },
    // kubeadm reset keeps the Node object; a Node this run registered goes with the reset (a Node
    // that was there before the run is not this run's to delete).
    ...(membershipRead
      ? [
          {
            kind: "exec" as const,
            on: init,
            command: sh`kubectl --kubeconfig ${ADMIN_CONF} delete node ${me} --ignore-not-found >/dev/null`,
            what: `delete the Node ${me}`,
            guards: [fresh],
          },
        ]
      : []),
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
    onFailure,
  };
}

/**
 * A member that lost kubeconfigs gets them again: each made on the init node from the cluster CA
 * (`kubeadm kubeconfig user`, server = the control-plane endpoint), carried in memory only, written
 * 0600; then the kubelet restarted so it uses its own again.
 */
function repair(input: RecipeInput, v: HostView, lost: string[], o: KubeadmOptions) {
  const me = v.host.name;
  const init = v.get(INIT_NODE);
  const minor = Number(input.inventory.cluster.kubernetesVersion.split(".")[1]);
  const users: Record<string, { client: string; org: string }> = {
    [KUBELET_CONF]: { client: `system:node:${me}`, org: "system:nodes" },
    // kubeadm >= 1.29: admin.conf's user is in kubeadm:cluster-admins, no longer system:masters
    [ADMIN_CONF]: {
      client: "kubernetes-admin",
      org: minor >= 29 ? "kubeadm:cluster-admins" : "system:masters",
    },
  };
  const actions = lost.flatMap((path): Action[] => {
    const key = runKey(
      `kubeconfig_${me.replaceAll("-", "_")}_${path.replace(/\W/g, "_")}`,
      `${path} for ${me}`,
      {
        secret: true,
      },
    );
    const u = users[path]!;
    return [
      {
        kind: "exec",
        on: init,
        command: sh`kubeadm kubeconfig user --config ${INIT_CONFIG} --client-name ${u.client} --org ${u.org}`,
        register: { name: key.name, secret: true },
      },
      {
        kind: "write",
        path,
        mode: "0600",
        owner: "root",
        group: "root",
        content: (scope) => Buffer.from(`${valueOf(scope, key)}\n`),
      },
    ];
  });
  return change(
    `make ${lost.join(" and ")} again: ${me} is a member of the cluster (its Node${o.externalEtcd === undefined && v.host.roles.includes("control-plane") ? " and etcd member" : ""} and its state are there) and lost ${lost.length > 1 ? "them" : "it"}; made from the cluster CA on ${init}, then the kubelet restarted`,
    [...actions, { kind: "exec", command: "systemctl restart kubelet" }],
  );
}
