import { isSecretOption } from "../../config/fence-agents.js";
import type { FenceDevice } from "../../config/schema.js";
import { sh } from "../../core/quote.js";
import { find, findAll, nvpairs, type XmlElement } from "./xml.js";

/**
 * The Pacemaker configuration haprov owns (REFERENCE.md §4.2), object by object with explicit ids,
 * compared with the live CIB: a rerun on a converged cluster changes nothing, and an object removed
 * or edited by hand is named and put back — by id, without touching the others.
 */
export const VIP_ID = "k8s-vip";
export const HAPROXY_ID = "haproxy";
export const HAPROXY_CLONE_ID = "haproxy-clone";
export const COLOCATION_ID = "colocate-vip-with-haproxy";
export const ORDER_ID = "order-haproxy-then-vip";
export const MONITOR = "5s";

export interface CibWant {
  vip: string;
  prefix: number;
  nic: string;
  migrationThreshold: number;
  failureTimeoutSec: number;
  fencing: "disabled" | FenceDevice[];
}

/**
 * One object that differs: what is wrong in words, and the `pcs -f FILE` lines that fix it. Secret
 * option values are never in those lines (issue #20: a command line is visible to every local user
 * in `ps`): the lines carry a placeholder, and the fix script puts the value in from its stdin.
 */
export interface CibFix {
  what: string;
  commands: string[];
  secrets?: { placeholder: string; value: string }[];
}

const placeholder = (device: string, key: string) => `@@haprov-secret:${device}:${key}@@`;

/** `pcs -f "$f" …`: the offline CIB the fix script edits (`$f` is set by the script). */
const pcsF = (rest: string) => `pcs -f "$f" ${rest}`;

function primitive(cib: XmlElement, id: string) {
  return findAll(cib, "primitive").find((p) => p.attrs.id === id);
}

const monitorInterval = (p: XmlElement | undefined) =>
  p ? findAll(p, "op").find((o) => o.attrs.name === "monitor")?.attrs.interval : undefined;

const sameAttrs = (live: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => live[k] === v);

const kv = (o: Record<string, string | number | boolean>) =>
  Object.entries(o).map(([k, v]) => `${k}=${String(v)}`);

/** What differs between the live CIB (`cibadmin --query --scope configuration`) and the wanted one. */
export function cibFixes(cib: XmlElement, want: CibWant): CibFix[] {
  const fixes: CibFix[] = [];
  const props = nvpairs(find(cib, "crm_config"), "cluster_property_set");
  // Pacemaker reads an absent stonith-enabled as true (REFERENCE.md §4.4 pitfall 1).
  const wantStonith = want.fencing === "disabled" ? "false" : "true";
  if ((props["stonith-enabled"] ?? "true") !== wantStonith)
    fixes.push({
      what: `stonith-enabled is ${props["stonith-enabled"] ?? "true (not set)"}, wanted ${wantStonith}`,
      commands: [pcsF(sh`property set ${`stonith-enabled=${wantStonith}`}`)],
    });

  if (want.fencing !== "disabled")
    for (const d of want.fencing) {
      const attrs: Record<string, string> = {
        ...Object.fromEntries(Object.entries(d.options).map(([k, v]) => [k, String(v)])),
        pcmk_host_list: d.host,
      };
      const secrets = Object.keys(d.options)
        .filter((k) => isSecretOption(d.agent, k))
        .map((k) => ({ key: k, placeholder: placeholder(d.id, k), value: attrs[k]! }));
      const onLine = { ...attrs, ...Object.fromEntries(secrets.map((x) => [x.key, x.placeholder])) };
      const carry = { secrets: secrets.map(({ placeholder: p, value }) => ({ placeholder: p, value })) };
      const live = primitive(cib, d.id);
      if (!live)
        fixes.push({
          what: `fence device ${d.id} is missing`,
          commands: [pcsF(sh`stonith create ${d.id} ${d.agent} ${kv(onLine)} op monitor interval=60s`)],
          ...carry,
        });
      else if (live.attrs.type !== d.agent || !sameAttrs(nvpairs(live, "instance_attributes"), attrs))
        fixes.push({
          what: `fence device ${d.id} differs`,
          commands:
            live.attrs.type !== d.agent
              ? [
                  pcsF(sh`stonith delete ${d.id}`),
                  pcsF(sh`stonith create ${d.id} ${d.agent} ${kv(onLine)} op monitor interval=60s`),
                ]
              : [pcsF(sh`stonith update ${d.id} ${kv(onLine)}`)],
          ...carry,
        });
    }

  const vipAttrs = { ip: want.vip, cidr_netmask: String(want.prefix), nic: want.nic };
  const vip = primitive(cib, VIP_ID);
  if (!vip)
    fixes.push({
      what: `the VIP resource ${VIP_ID} is missing`,
      commands: [
        pcsF(
          sh`resource create ${VIP_ID} ocf:heartbeat:IPaddr2 ${kv(vipAttrs)} op monitor ${`interval=${MONITOR}`}`,
        ),
      ],
    });
  else {
    if (vip.attrs.type !== "IPaddr2" || !sameAttrs(nvpairs(vip, "instance_attributes"), vipAttrs))
      fixes.push({
        what: `the VIP resource ${VIP_ID} differs`,
        commands: [pcsF(sh`resource update ${VIP_ID} ${kv(vipAttrs)}`)],
      });
    if (monitorInterval(vip) !== MONITOR)
      fixes.push({
        what: `${VIP_ID} is not monitored every ${MONITOR}`,
        commands: [pcsF(sh`resource update ${VIP_ID} op monitor ${`interval=${MONITOR}`}`)],
      });
  }

  const meta = {
    "migration-threshold": String(want.migrationThreshold),
    "failure-timeout": `${want.failureTimeoutSec}s`,
  };
  const clone = findAll(cib, "clone").find((c) => c.attrs.id === HAPROXY_CLONE_ID);
  const haproxy = clone ? primitive(clone, HAPROXY_ID) : undefined;
  if (!clone || !haproxy)
    fixes.push({
      what: `the haproxy clone ${HAPROXY_CLONE_ID} is missing`,
      commands: [
        ...(primitive(cib, HAPROXY_ID) ? [pcsF(sh`resource delete ${HAPROXY_ID} --force`)] : []),
        pcsF(
          sh`resource create ${HAPROXY_ID} systemd:haproxy op monitor ${`interval=${MONITOR}`} clone ${HAPROXY_CLONE_ID}`,
        ),
        pcsF(sh`resource meta ${HAPROXY_CLONE_ID} ${kv(meta)}`),
      ],
    });
  else {
    if (!sameAttrs(nvpairs(clone, "meta_attributes"), meta))
      fixes.push({
        what: `${HAPROXY_CLONE_ID}'s failure handling differs (${kv(meta).join(", ")} wanted)`,
        commands: [pcsF(sh`resource meta ${HAPROXY_CLONE_ID} ${kv(meta)}`)],
      });
    if (monitorInterval(haproxy) !== MONITOR)
      fixes.push({
        what: `${HAPROXY_ID} is not monitored every ${MONITOR}`,
        commands: [pcsF(sh`resource update ${HAPROXY_ID} op monitor ${`interval=${MONITOR}`}`)],
      });
  }

  const colo = find(cib, "rsc_colocation", COLOCATION_ID);
  if (
    !colo ||
    colo.attrs.rsc !== VIP_ID ||
    colo.attrs["with-rsc"] !== HAPROXY_CLONE_ID ||
    colo.attrs.score !== "INFINITY"
  )
    fixes.push({
      what: `the constraint ${COLOCATION_ID} (the VIP only where haproxy runs) is ${colo ? "different" : "missing"}`,
      commands: [
        ...(colo ? [pcsF(sh`constraint delete ${COLOCATION_ID}`)] : []),
        pcsF(sh`constraint colocation add ${VIP_ID} with ${HAPROXY_CLONE_ID} ${`id=${COLOCATION_ID}`}`),
      ],
    });
  const order = find(cib, "rsc_order", ORDER_ID);
  if (
    !order ||
    order.attrs.first !== HAPROXY_CLONE_ID ||
    order.attrs.then !== VIP_ID ||
    order.attrs.kind !== "Optional"
  )
    fixes.push({
      what: `the constraint ${ORDER_ID} (haproxy starts before the VIP, Optional) is ${order ? "different" : "missing"}`,
      commands: [
        ...(order ? [pcsF(sh`constraint delete ${ORDER_ID}`)] : []),
        // kind=Optional: a haproxy restart on another node does not bounce the VIP (REFERENCE.md §4.2)
        pcsF(
          sh`constraint order start ${HAPROXY_CLONE_ID} then start ${VIP_ID} kind=Optional ${`id=${ORDER_ID}`}`,
        ),
      ],
    });
  return fixes;
}

/**
 * The script that applies the fixes: the live CIB into a private temporary file, the `pcs -f`
 * edits there, `pcs cluster verify --full` on the result, then one atomic `cib-push diff-against`
 * (REFERENCE.md §0.4). A failed edit or verification pushes nothing.
 */
export function fixScript(fixes: CibFix[]): { script: string; stdin: string } {
  const secrets = fixes.flatMap((x) => x.secrets ?? []);
  return {
    script: [
      "set -e",
      "umask 077",
      "d=$(mktemp -d); trap 'rm -rf \"$d\"' EXIT",
      // the secret values, one per line, from stdin into the private directory (never argv)
      'cat > "$d/secrets"',
      'pcs cluster cib "$d/orig.xml"',
      'cp "$d/orig.xml" "$d/new.xml"',
      'f="$d/new.xml"',
      ...fixes.flatMap((x) => x.commands),
      ...secrets.map((x, i) => putSecret(x.placeholder, i + 1)),
      'pcs cluster verify -f "$f" --full',
      'pcs cluster cib-push "$f" diff-against="$d/orig.xml"',
    ].join("\n"),
    stdin: secrets.map((x) => `${x.value}\n`).join(""),
  };
}

/**
 * Line `n` of the secrets file replaces `placeholder` in the offline CIB, XML-escaped, by awk
 * reading both files: the value is never on a command line. A literal substitution (index/substr),
 * so no character of the value means anything to awk.
 */
const PUT_SECRET = String.raw`NR == FNR { if (FNR == n) v = $0; next }
FNR == 1 { gsub(/&/, "\&amp;", v); gsub(/</, "\&lt;", v); gsub(/>/, "\&gt;", v); gsub(/"/, "\&quot;", v); gsub(/'/, "\&apos;", v) }
{ out = ""; s = $0; while ((i = index(s, p)) > 0) { out = out substr(s, 1, i - 1) v; s = substr(s, i + length(p)) } print out s }`;

function putSecret(placeholder: string, n: number): string {
  return sh`awk -v ${`n=${n}`} -v ${`p=${placeholder}`} ${PUT_SECRET} "$d/secrets" "$f" > "$f.tmp" && mv "$f.tmp" "$f"`;
}
