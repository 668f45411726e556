import type { Fact } from "../../core/fact.js";
import type { MemberHealth } from "../../core/guard.js";
import { HaprovError } from "../../core/errors.js";
import { quote, sh } from "../../core/quote.js";

/**
 * etcd's members and their health, read with curl from etcd's own JSON gateway
 * (`POST /v3/cluster/member/list`, `GET /health` of each member, etcd ≥ 3.4): the same snippet for
 * kubeadm's stacked members (whose hosts have no etcdctl) and design E's static cluster. Read-only.
 */
export interface EtcdAccess {
  /** Client URLs to ask for the member list, tried in order (the local member first). */
  endpoints: string[];
  ca: string;
  cert: string;
  key: string;
}

export interface EtcdMember {
  id: string;
  /** Empty for a learner that has not started yet. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
  /** From the member's /health: undefined when not asked. */
  healthy?: boolean;
}

/** kubeadm's stacked etcd, as any control-plane node reads it (its healthcheck-client pair). */
export function stackedEtcdAccess(addresses: string[]): EtcdAccess {
  const pki = "/etc/kubernetes/pki/etcd";
  return {
    endpoints: ["https://127.0.0.1:2379", ...addresses.map((a) => `https://${a}:2379`)],
    ca: `${pki}/ca.crt`,
    cert: `${pki}/healthcheck-client.crt`,
    key: `${pki}/healthcheck-client.key`,
  };
}

/**
 * Shell: `LIST <json>` (empty when no endpoint answered), then with `health` one
 * `HEALTH <client-url> <json>` line per member, the members asked at once (2 s each at most).
 */
/**
 * With `nodes`, also `NODES <base64 key> …`: the Node objects' keys in the cluster's store
 * (kube-apiserver keeps Nodes under /registry/minions/), names only — read from etcd in the same
 * connection instead of starting kubectl, and without revisions, which change with every status
 * update.
 */
export function etcdMembersScript(a: EtcdAccess, o: { health: boolean; nodes?: boolean }): string {
  const curl = `curl -s --max-time 2 --cacert ${quote(a.ca)} --cert ${quote(a.cert)} --key ${quote(a.key)}`;
  return [
    `if [ -r ${quote(a.cert)} ]; then`,
    // the header (revision, raft term, the answering member) changes all the time: only the members
    `l=""; for e in ${a.endpoints.map(quote).join(" ")}; do l=$(${curl} -X POST -d '{}' "$e/v3/cluster/member/list" 2>/dev/null | tr -d '\\n' | sed 's/"header":{[^}]*},*//') && case "$l" in *'"members"'*) break;; esac; l=""; done`,
    `echo "LIST $l"`,
    ...(o.nodes
      ? [
          `[ -n "$l" ] && echo "NODES $(${curl} -X POST -d '{"key":"${b64(NODES_PREFIX)}","range_end":"${b64(NODES_END)}","keys_only":true}' "$e/v3/kv/range" 2>/dev/null | grep -o '"key":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')"`,
        ]
      : []),
    ...(o.health
      ? [
          `for u in $(printf '%s' "$l" | grep -o '"clientURLs":\\["[^"]*"' | cut -d'"' -f4); do ( echo "HEALTH $u $(${curl} "$u/health" 2>/dev/null | tr -d '\\n')" ) & done; wait`,
        ]
      : []),
    `else echo "LIST "; fi`,
  ].join("\n");
}

const NODES_PREFIX = "/registry/minions/";
const NODES_END = "/registry/minions0"; // the prefix's range end: its last byte plus one
const b64 = (t: string) => Buffer.from(t).toString("base64");

/** The Node names etcdMembersScript listed (undefined: not asked, or no endpoint answered). */
export function parseNodeKeys(out: string): string[] | undefined {
  const line = out.split("\n").find((l) => l.startsWith("NODES "));
  if (line === undefined) return undefined;
  return line
    .slice(6)
    .split(" ")
    .filter(Boolean)
    .map((k) => Buffer.from(k, "base64").toString())
    .filter((k) => k.startsWith(NODES_PREFIX))
    .map((k) => k.slice(NODES_PREFIX.length));
}

interface GatewayMember {
  ID?: string | number;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

/** The members from etcdMembersScript's output; undefined when no endpoint answered. */
export function parseEtcdMembers(out: string): EtcdMember[] | undefined {
  const lines = out.split("\n");
  const list = lines
    .find((l) => l.startsWith("LIST "))
    ?.slice(5)
    .trim();
  if (!list) return undefined;
  let parsed: { members?: GatewayMember[] };
  try {
    parsed = JSON.parse(list) as { members?: GatewayMember[] };
  } catch {
    return undefined;
  }
  const health = new Map<string, boolean>();
  for (const l of lines.filter((x) => x.startsWith("HEALTH "))) {
    const [, url = "", ...rest] = l.split(" ");
    health.set(url, /"health"\s*:\s*"true"/.test(rest.join(" ")));
  }
  return (parsed.members ?? []).map((m) => {
    const clientUrls = m.clientURLs ?? [];
    const asked = clientUrls.find((u) => health.has(u));
    return {
      id: String(m.ID ?? ""),
      name: m.name ?? "",
      peerUrls: m.peerURLs ?? [],
      clientUrls,
      learner: m.isLearner === true,
      ...(lines.some((x) => x.startsWith("HEALTH ")) ? { healthy: asked ? health.get(asked)! : false } : {}),
    };
  });
}

/** The host part of a URL (`https://10.0.0.1:2380` → `10.0.0.1`). */
export const urlHost = (u: string) => /^[a-z]+:\/\/\[?([^\]/]+?)\]?(?::\d+)?(?:\/|$)/.exec(u)?.[1] ?? u;

/** A member as people name it: its name, or (a learner not started yet) its peer address. */
export const memberName = (m: EtcdMember) => m.name || urlHost(m.peerUrls[0] ?? "") || m.id;

/** The quorum guard's probe (core/guard.ts): every member with its live health. */
export function etcdHealthProbe(a: EtcdAccess): Fact<MemberHealth[]> {
  return {
    key: `etcd-health:${a.endpoints.join(",")}`,
    script: etcdMembersScript(a, { health: true }),
    parse: (out) =>
      (parseEtcdMembers(out) ?? []).map((m) => ({
        name: memberName(m),
        address: urlHost(m.peerUrls[0] ?? ""),
        voter: !m.learner,
        healthy: m.healthy === true,
        ...(m.healthy ? {} : { detail: m.clientUrls.length ? "no healthy answer in 2 s" : "not started" }),
      })),
  };
}

/** etcd's members with health, and the leader's ID (from the local member's status). */
export interface EtcdState {
  members: EtcdMember[] | undefined;
  leader: string | undefined;
}

export function etcdStateFact(a: EtcdAccess): Fact<EtcdState> {
  const curl = `curl -s --max-time 2 --cacert ${quote(a.ca)} --cert ${quote(a.cert)} --key ${quote(a.key)}`;
  return {
    key: `etcd-state:${a.endpoints.join(",")}`,
    script: [
      etcdMembersScript(a, { health: true }),
      `echo "STATUS $(${curl} -X POST -d '{}' ${quote(`${a.endpoints[0]!}/v3/maintenance/status`)} 2>/dev/null | tr -d '\\n')"`,
    ].join("\n"),
    parse: (out) => ({
      members: parseEtcdMembers(out),
      leader: /"leader"\s*:\s*"?(\d+)/.exec(out.split("\n").find((l) => l.startsWith("STATUS ")) ?? "")?.[1],
    }),
  };
}

/**
 * POST to etcd's JSON gateway; an error answer (or none) fails the command with etcd's words.
 * `notYet`: an answer of etcd's that means "not now, ask again" (a member add right after another
 * member joined: etcd wants its leader connected to every voter for 5 s first, and says
 * "unhealthy cluster"), asked again every second for up to `waitSec`.
 */
export function etcdPost(
  a: EtcdAccess,
  url: string,
  body: Record<string, string | string[]>,
  o: { notYet?: string; waitSec?: number } = {},
): string {
  const curl = sh`curl -sS --max-time 10 --cacert ${a.ca} --cert ${a.cert} --key ${a.key} -X POST -d ${JSON.stringify(body)} ${url}`;
  const ask = o.notYet
    ? [
        `i=0; while o=$(${curl} 2>&1); case "$o" in *${quote(o.notYet)}*) [ "$i" -lt ${o.waitSec ?? 30} ];; *) false;; esac; do i=$((i + 1)); sleep 1; done`,
      ]
    : [`o=$(${curl} 2>&1)`];
  return [...ask, `case "$o" in ''|*'"error"'*|*'curl:'*) echo "etcd: $o" >&2; exit 1;; esac`].join("\n");
}

/** A member ID as etcd gave it (decimal), checked before it goes into a command. */
export const memberId = (x: string) => {
  if (!/^\d{1,20}$/.test(x)) throw new HaprovError(`etcd gave a member ID that is not a number: ${x}`);
  return x;
};
