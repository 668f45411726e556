import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import { runKey } from "../../core/run-key.js";
import { commandSucceeds } from "../../facts/file-state.js";
import { commandStep } from "../../steps/command.js";
import { fileStep } from "../../steps/file.js";
import { packageStep } from "../../steps/package.js";
import { waitStep } from "../../steps/wait.js";
import { when } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { gatherInto, phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import {
  etcdHealthProbe,
  etcdMembersScript,
  parseEtcdMembers,
  type EtcdAccess,
  type EtcdMember,
} from "../kubeadm/etcd-members.js";
import {
  APISERVER_ETCD_CLIENT,
  ETCD_CA_CRT,
  ETCD_CA_KEY,
  ETCD_PKI,
  issueStep,
  K8S_ETCD_CA,
  makeCaScript,
  type CertSpec,
} from "./pki.js";

/**
 * The static etcd cluster of design E (REFERENCE.md §5.1–§5.3) on the hosts with role `etcd`:
 * Debian's etcd-server, its unit masked before the package is installed (the package would start a
 * one-member cluster of its own, §5.4 pitfall 1), TLS for clients and peers, configured through
 * /etc/default/etcd, all members started together without blocking (§5.4 pitfall 3).
 */
export const ETCD_ENV = "/etc/default/etcd";
export const ETCD_DATA = "/var/lib/etcd/default";
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export const ETCD_CA_HOST = runKey("etcdCaHost", "the etcd host that keeps the etcd CA's key");
export const ETCD_CA_CERT = runKey("etcdCaCert", "the etcd CA certificate");
export const ETCD_TOKEN = runKey("etcdToken", "the cluster's etcd initial-cluster-token");
export const ETCD_BOOTSTRAPPED = runKey("etcdBootstrapped", "etcd data directory");

export const etcdHosts = (hosts: HostSpec[]) => byRole(hosts, "etcd");
export const clientUrl = (h: HostSpec) => `https://${h.address}:${ETCD_CLIENT_PORT}`;
export const peerUrl = (h: HostSpec) => `https://${h.address}:${ETCD_PEER_PORT}`;

const isEtcd = when((v) =>
  v.host.roles.includes("etcd") ? undefined : `${v.host.name} runs no etcd member`,
);
const isControlPlane = when((v) =>
  v.host.roles.includes("control-plane") ? undefined : `${v.host.name} runs no API server`,
);
const isCaHost = when((v) =>
  v.get(ETCD_CA_HOST) === v.host.name ? undefined : `${v.get(ETCD_CA_HOST)} keeps the etcd CA`,
);

export const memberCerts = (h: HostSpec): CertSpec[] =>
  (["server", "peer"] as const).map((n) => ({
    base: `${ETCD_PKI}/${n}`,
    commonName: h.name,
    usage: "server",
    dns: [h.name, "localhost"],
    ips: [h.address, "127.0.0.1"],
    owner: "etcd",
  }));

const clientCert = (h: HostSpec): CertSpec[] => [
  {
    base: APISERVER_ETCD_CLIENT,
    commonName: `kube-apiserver-etcd-client ${h.name}`,
    usage: "client",
    dns: [],
    ips: [],
    owner: "root",
  },
];

/** etcdctl on an etcd host, as the member itself (its server certificate is also a client one). */
export const etcdctl = (endpoints: string[]) =>
  sh`ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(",")} --cacert ${ETCD_CA_CRT} --cert ${`${ETCD_PKI}/server.crt`} --key ${`${ETCD_PKI}/server.key`} --dial-timeout=2s --command-timeout=3s`;

/**
 * /etc/default/etcd. The INITIAL_* lines matter only while a member has no data directory; once it
 * has one they are dropped, so a restarted member never reads `initial-cluster-state new` again.
 * A member without data while others have theirs joins with `existing` and the member list it will
 * be added to (join.ts).
 */
export function renderEtcdEnv(v: HostView, stage: "bootstrap" | "running"): string {
  const members = etcdHosts(v.hosts);
  const me = v.host;
  const joins = joining(v);
  const initial =
    stage === "bootstrap"
      ? [
          `ETCD_INITIAL_CLUSTER=${(joins ? joiningCluster(v) : members.map((h) => `${h.name}=${peerUrl(h)}`)).join(",")}`,
          `ETCD_INITIAL_CLUSTER_STATE=${joins ? "existing" : "new"}`,
        ]
      : [];
  return [
    `# Managed by haprov: etcd member ${me.name} of cluster ${v.inventory.cluster.name}.`,
    `ETCD_NAME=${me.name}`,
    `ETCD_DATA_DIR=${ETCD_DATA}`,
    `ETCD_LISTEN_PEER_URLS=${peerUrl(me)}`,
    `ETCD_LISTEN_CLIENT_URLS=${clientUrl(me)},https://127.0.0.1:${ETCD_CLIENT_PORT}`,
    // never localhost: remote clients use it (§5.1)
    `ETCD_ADVERTISE_CLIENT_URLS=${clientUrl(me)}`,
    `ETCD_INITIAL_ADVERTISE_PEER_URLS=${peerUrl(me)}`,
    `ETCD_INITIAL_CLUSTER_TOKEN=${v.get(ETCD_TOKEN)}`,
    ...initial,
    "ETCD_CLIENT_CERT_AUTH=true",
    `ETCD_TRUSTED_CA_FILE=${ETCD_CA_CRT}`,
    `ETCD_CERT_FILE=${ETCD_PKI}/server.crt`,
    `ETCD_KEY_FILE=${ETCD_PKI}/server.key`,
    "ETCD_PEER_CLIENT_CERT_AUTH=true",
    `ETCD_PEER_TRUSTED_CA_FILE=${ETCD_CA_CRT}`,
    `ETCD_PEER_CERT_FILE=${ETCD_PKI}/peer.crt`,
    `ETCD_PEER_KEY_FILE=${ETCD_PKI}/peer.key`,
    "",
  ].join("\n");
}

export const ETCD_MEMBER_LIST = runKey(
  "etcdMemberList",
  "the etcd member list, as a member with data reads it",
);

/** The gather for ETCD_MEMBER_LIST: on an etcd host with data, the list from its own member first. */
export const memberListGather = (input: RecipeInput) =>
  gatherInto(
    ETCD_MEMBER_LIST,
    (ctx) =>
      ctx.host.roles.includes("etcd")
        ? `if ${sh`test -d ${`${ETCD_DATA}/member`}`}; then\n${etcdMembersScript(etcdAccessOf(ctx.host, input.hosts), { health: false })}\nfi`
        : "true",
    { otherwise: "empty" },
  );

/** The member list the run read before anything changed (undefined: no member with data answered). */
export function readMemberList(v: Pick<HostView, "answers">): EtcdMember[] | undefined {
  for (const out of Object.values(v.answers(ETCD_MEMBER_LIST))) {
    const list = parseEtcdMembers(out);
    if (list) return list;
  }
  return undefined;
}

/** Whether this host joins a running cluster in this run: no data of its own, another has. */
export function joining(v: Pick<HostView, "host" | "answers">): boolean {
  const answers = v.answers(ETCD_BOOTSTRAPPED);
  return !answers[v.host.name] && Object.entries(answers).some(([n, a]) => n !== v.host.name && a !== "");
}

/**
 * ETCD_INITIAL_CLUSTER for a joining host: every member of the list (an unstarted one named from
 * the inventory by its peer URL), then the hosts that join before it in this run, then itself —
 * what the member list holds once it has been added. Without a list (no member answered), the
 * hosts with data: the member add then fails and says why.
 */
export function joiningCluster(v: HostView): string[] {
  const hosts = etcdHosts(v.hosts);
  const have = v.answers(ETCD_BOOTSTRAPPED);
  const byUrl = new Map<string, string>();
  const list = readMemberList(v);
  if (list)
    for (const m of list) {
      const url = m.peerUrls[0];
      if (url) byUrl.set(url, m.name || hosts.find((h) => peerUrl(h) === url)?.name || `member-${m.id}`);
    }
  else for (const h of hosts.filter((h) => have[h.name])) byUrl.set(peerUrl(h), h.name);
  for (const h of hosts) {
    if (have[h.name]) continue;
    if (h.name === v.host.name) break;
    if (!byUrl.has(peerUrl(h))) byUrl.set(peerUrl(h), h.name);
  }
  byUrl.set(peerUrl(v.host), v.host.name);
  return [...byUrl].map(([url, name]) => `${name}=${url}`);
}

/** The package (its unit masked first), and the CA made once on one etcd host. */
export function etcdCaPhase(input: RecipeInput) {
  const step = stepsOf(input);
  return phase(input, {
    name: "etcd certificate authority",
    hosts: etcdHosts(input.hosts),
    gather: [
      gatherInto(ETCD_CA_HOST, (ctx) => sh`test -f ${ETCD_CA_KEY} && echo ${ctx.host.name}`, {
        otherwise: "first-host",
      }),
    ],
    steps: [
      step({
        name: "etcd unit masked until configured",
        type: commandStep,
        params: () => ({
          run: "systemctl mask etcd.service >/dev/null 2>&1",
          unless: "command -v etcd >/dev/null",
          secret: false,
        }),
      }),
      step({
        name: "etcd packages",
        type: packageStep,
        params: () => ({
          names: ["etcd-server", "etcd-client", "openssl"],
          rhel: { names: ["etcd", "openssl"], enableRepos: [] },
        }),
      }),
      step({
        name: "etcd certificate authority",
        type: commandStep,
        when: isCaHost,
        params: (v) => ({
          // A CA certificate without its key means the key was lost: refuse rather than make a
          // second CA that no member trusts.
          run: `${sh`if test -e ${ETCD_CA_CRT}; then echo ${`${ETCD_CA_CRT} exists but ${ETCD_CA_KEY} does not: restore the key (a new CA would not be trusted by the running members)`} >&2; exit 1; fi`} && ${makeCaScript(v.inventory.cluster.name)}`,
          creates: ETCD_CA_KEY,
          secret: false,
        }),
      }),
    ],
  });
}

/**
 * Certificates on every etcd member and control-plane node, then each member's env file. Members'
 * certificates and env files restart etcd one member at a time (a running member only).
 */
export function etcdMembersPhase(input: RecipeInput) {
  const step = stepsOf(input);
  const hosts = input.hosts.filter((h) => h.roles.includes("etcd") || h.roles.includes("control-plane"));
  const caHost = (v: HostView) => v.get(ETCD_CA_HOST);
  return phase(input, {
    name: "etcd members",
    hosts,
    gather: [
      gatherInto(ETCD_CA_CERT, () => sh`test -f ${ETCD_CA_KEY} && base64 -w0 ${ETCD_CA_CRT}`),
      gatherInto(
        ETCD_TOKEN,
        () => sh`sed -n 's/^ETCD_INITIAL_CLUSTER_TOKEN=//p' ${ETCD_ENV} 2>/dev/null | head -n 1`,
        {
          generate: { length: 20 },
        },
      ),
      gatherInto(ETCD_BOOTSTRAPPED, (ctx) => sh`test -d ${`${ETCD_DATA}/member`} && echo ${ctx.host.name}`, {
        otherwise: "empty",
      }),
      memberListGather(input),
    ],
    steps: [
      step({
        name: "etcd CA certificate",
        type: fileStep,
        when: isEtcd,
        notify: ["restart etcd"],
        params: (v) => managedFile(ETCD_CA_CRT, v.get(ETCD_CA_CERT), { encoding: "base64" }),
      }),
      issueStep(input, {
        name: "etcd server and peer certificates",
        caFile: ETCD_CA_CRT,
        certs: (v) => memberCerts(v.host),
        caHost,
        when: isEtcd,
        notify: ["restart etcd"],
      }),
      step({
        name: "etcd CA certificate for the API server",
        type: fileStep,
        when: isControlPlane,
        params: (v) => managedFile(K8S_ETCD_CA, v.get(ETCD_CA_CERT), { encoding: "base64" }),
      }),
      issueStep(input, {
        name: "API server's etcd client certificate",
        caFile: K8S_ETCD_CA,
        certs: (v) => clientCert(v.host),
        caHost,
        when: isControlPlane,
      }),
      // Data in etcd's directory that haprov never configured is another cluster's (Debian's own
      // one-member cluster, §5.4 pitfall 1): refused, never wiped.
      step({
        name: "no foreign etcd data",
        type: commandStep,
        when: isEtcd,
        params: (v) => ({
          run: sh`echo ${`${v.host.name}: ${ETCD_DATA} holds etcd data, but ${ETCD_ENV} was not written by haprov: it belongs to another cluster (Debian's default one if etcd-server was installed unmasked). Move it away by hand, then run again`} >&2; exit 1`,
          unless: sh`! test -d ${`${ETCD_DATA}/member`} || grep -qs '^# Managed by haprov' ${ETCD_ENV}`,
          secret: false,
        }),
      }),
      step({
        name: "etcd settings",
        type: fileStep,
        when: isEtcd,
        notify: ["restart etcd"],
        params: (v) =>
          managedFile(ETCD_ENV, renderEtcdEnv(v, v.own(ETCD_BOOTSTRAPPED) ? "running" : "bootstrap")),
      }),
    ],
    handlers: [
      {
        name: "restart etcd",
        // only a running member: a new one is started by the next phase, with the others
        run: () => "if systemctl is-active --quiet etcd; then systemctl restart etcd; fi",
        verify: (ctx) =>
          `! systemctl is-active --quiet etcd || ${etcdctl([clientUrl(ctx.host)])} endpoint health >/dev/null 2>&1`,
        serial: true,
        // A restart stops the member for a moment: only while the others keep a healthy majority
        // (issue #19). The engine reads every member's health right before it.
        guards: (ctx) => [
          {
            kind: "quorum",
            group: "etcd",
            member: ctx.host.name,
            effect: "stop",
            probe: etcdHealthProbe(etcdAccessOf(ctx.host, input.hosts)),
            // a member that is not running (first bootstrap) is not restarted: nothing stops
            matters: commandSucceeds("systemctl is-active --quiet etcd"),
          },
        ],
      },
    ],
  });
}

/** Every member started at once (not blocking: a lone member waits for the others), then the barrier. */
export function etcdClusterPhase(input: RecipeInput) {
  const step = stepsOf(input);
  const members = etcdHosts(input.hosts);
  return phase(input, {
    name: "etcd cluster",
    hosts: members,
    steps: [
      step({
        name: "etcd running",
        type: commandStep,
        params: () => ({
          run: "systemctl unmask etcd.service >/dev/null 2>&1; systemctl enable --quiet etcd.service && systemctl start --no-block etcd.service",
          unless: "systemctl is-enabled --quiet etcd.service && systemctl is-active --quiet etcd.service",
          secret: false,
        }),
      }),
      step({
        name: "etcd cluster healthy",
        type: waitStep,
        params: (v) => ({
          until: `${etcdctl([clientUrl(v.host)])} endpoint health --cluster >/dev/null 2>&1`,
          what: `every member of the etcd cluster answers healthy, as ${v.host.name} sees it`,
          timeoutSec: 120,
        }),
      }),
      // Once the member has data, its INITIAL_* settings are dropped (read on the first start only).
      step({
        name: "etcd settings after bootstrap",
        type: fileStep,
        params: (v) => managedFile("/etc/default/etcd", renderEtcdEnv(v, "running")),
      }),
    ],
  });
}

export const externalEtcdOf = (hosts: HostSpec[]) => ({
  endpoints: etcdHosts(hosts).map(clientUrl),
  caFile: K8S_ETCD_CA,
  certFile: `${APISERVER_ETCD_CLIENT}.crt`,
  keyFile: `${APISERVER_ETCD_CLIENT}.key`,
});

/** How an etcd host reads its cluster: as the member itself, its own endpoint first (etcd-members.ts). */
export function etcdAccessOf(
  host: Pick<HostSpec, "address">,
  hosts: Pick<HostSpec, "address" | "roles">[],
): EtcdAccess {
  const url = (h: Pick<HostSpec, "address">) => `https://${h.address}:${ETCD_CLIENT_PORT}`;
  return {
    endpoints: [
      url(host),
      ...hosts.filter((h) => h.roles.includes("etcd") && h.address !== host.address).map(url),
    ],
    ca: ETCD_CA_CRT,
    cert: `${ETCD_PKI}/server.crt`,
    key: `${ETCD_PKI}/server.key`,
  };
}
