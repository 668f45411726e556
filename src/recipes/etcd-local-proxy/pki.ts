import { change, noop, type Action } from "../../core/action.js";
import { sh } from "../../core/quote.js";
import { runKey, valueOf } from "../../core/run-key.js";
import type { BoundStep } from "../../core/step.js";
import { commandSucceeds } from "../../facts/file-state.js";
import type { Condition } from "../blocks/condition.js";
import { hostView, type HostView, type RecipeInput } from "../blocks/view.js";
import { skip } from "../../core/action.js";

/**
 * The etcd PKI of design E (REFERENCE.md §5.1), made with openssl on the hosts: one CA on one etcd
 * host (its key never leaves it), and every certificate issued from a CSR made on the host that
 * keeps the key — member server and peer pairs, and each control-plane node's client pair for its
 * API server. Only CSRs and certificates (public) pass through haprov's memory.
 */
export const ETCD_PKI = "/etc/etcd/pki";
export const ETCD_CA_CRT = `${ETCD_PKI}/ca.crt`;
export const ETCD_CA_KEY = `${ETCD_PKI}/ca.key`;
/** Where kubeadm's external-etcd settings point on a control-plane node (REFERENCE.md §5.1). */
export const K8S_ETCD_CA = "/etc/kubernetes/pki/etcd/ca.crt";
export const APISERVER_ETCD_CLIENT = "/etc/kubernetes/pki/apiserver-etcd-client";

/** Ten years, as kubeadm's CAs; leaf certificates are renewed by a rerun 30 days before they end. */
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
const RENEW_BEFORE_SEC = 30 * 24 * 3600;

/** Every certificate haprov issues for etcd: who keeps the key, what it is for, its names. */
export interface CertSpec {
  /** Path without extension: `.key` and `.crt` are written there. */
  base: string;
  commonName: string;
  /** "server": serverAuth + clientAuth (etcd serves and dials peers); "client": clientAuth only. */
  usage: "server" | "client";
  /** DNS names and IP addresses (empty for a client certificate). */
  dns: string[];
  ips: string[];
  /** Owner of the key (etcd's own files belong to the etcd user). */
  owner: string;
}

const subjectAltName = (c: CertSpec) =>
  [...c.dns.map((d) => `DNS:${d}`), ...c.ips.map((i) => `IP:${i}`)].join(",");

/** `openssl x509 -ext subjectAltName` prints names as "DNS:a, IP Address:b". */
const printedSan = (c: CertSpec) =>
  [...c.dns.map((d) => `DNS:${d}`), ...c.ips.map((i) => `IP Address:${i}`)].join(", ");

/** The CA, made once on the CA host: EC P-256, written under temporary names and renamed. */
export function makeCaScript(cluster: string): string {
  return [
    // the directory stays readable (etcd runs as its own user); the keys in it do not
    sh`install -d -m 0755 ${ETCD_PKI}`,
    "umask 077",
    sh`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days ${String(CA_DAYS)} -subj ${`/CN=etcd-ca ${cluster}`} -addext ${"keyUsage=critical,keyCertSign,cRLSign"} -keyout ${`${ETCD_CA_KEY}.new`} -out ${`${ETCD_CA_CRT}.new`} 2>/dev/null`,
    sh`chmod 0644 ${`${ETCD_CA_CRT}.new`}`,
    sh`mv ${`${ETCD_CA_CRT}.new`} ${ETCD_CA_CRT}`,
    sh`mv ${`${ETCD_CA_KEY}.new`} ${ETCD_CA_KEY}`,
  ].join(" && ");
}

/**
 * Holds when every certificate is signed by the CA beside it (`caFile`), matches its key, carries
 * exactly the expected names and usage, and has more than 30 days left. Read-only.
 */
export function certsValid(caFile: string, certs: CertSpec[]): string {
  return certs
    .map((c) => {
      const crt = `${c.base}.crt`;
      const key = `${c.base}.key`;
      const checks = [
        sh`openssl verify -CAfile ${caFile} -purpose ${c.usage === "server" ? "sslserver" : "sslclient"} ${crt} >/dev/null 2>&1`,
        sh`openssl x509 -in ${crt} -noout -checkend ${String(RENEW_BEFORE_SEC)} >/dev/null`,
        sh`[ "$(openssl x509 -in ${crt} -noout -pubkey)" = "$(openssl pkey -in ${key} -pubout 2>/dev/null)" ]`,
        sh`[ "$(openssl x509 -in ${crt} -noout -subject -nameopt RFC2253)" = ${`subject=CN=${c.commonName}`} ]`,
        c.dns.length + c.ips.length > 0
          ? sh`[ "$(openssl x509 -in ${crt} -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')" = ${printedSan(c).replaceAll(" ", "")} ]`
          : "true",
      ];
      return checks.join(" && ");
    })
    .join(" && ");
}

/** On the key's host: a fresh key per certificate (kept as KEY.new) and its CSR, printed base64. */
function csrScript(certs: CertSpec[]): string {
  return [
    "umask 077",
    ...certs.map(
      (c) =>
        sh`install -d -m 0755 "$(dirname ${c.base})" && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj ${`/CN=${c.commonName}`} -keyout ${`${c.base}.key.new`} 2>/dev/null | base64 -w0 && echo`,
    ),
  ].join(" && ");
}

/**
 * On the CA host: each CSR signed with the subject, names and usage haprov decides (not the ones
 * the CSR asks for), in a private temporary directory removed afterwards. Prints one base64
 * certificate per line.
 */
function signScript(certs: CertSpec[], csrs: string[]): string {
  const lines = certs.map((c, i) => {
    const ext = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage=${c.usage === "server" ? "serverAuth,clientAuth" : "clientAuth"}`,
      ...(c.dns.length + c.ips.length > 0 ? [`subjectAltName=${subjectAltName(c)}`] : []),
    ];
    return [
      sh`printf '%s' ${csrs[i] ?? ""} | base64 -d > "$t/req.csr"`,
      sh`printf '%s\n' ${ext} > "$t/ext"`,
      sh`openssl x509 -req -in "$t/req.csr" -subj ${`/CN=${c.commonName}`} -CA ${ETCD_CA_CRT} -CAkey ${ETCD_CA_KEY} -set_serial "0x$(openssl rand -hex 16)" -days ${String(LEAF_DAYS)} -extfile "$t/ext" 2>/dev/null | base64 -w0 && echo`,
    ].join(" && ");
  });
  return [`t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT`, ...lines].join(" && ");
}

/**
 * A step that issues `certs` for this host when `certsValid` does not hold: the CSRs made here,
 * signed on the CA host (`caHost`), the certificates written here, then the new keys put in place
 * — a certificate and its key change together, never one without the other for long.
 */
export function issueStep(
  input: RecipeInput,
  o: {
    name: string;
    caFile: string;
    certs: (v: HostView) => CertSpec[];
    caHost: (v: HostView) => string;
    when?: Condition;
    notify?: string[];
  },
): BoundStep {
  const fact = (v: HostView) => commandSucceeds(certsValid(o.caFile, o.certs(v)));
  return {
    name: o.name,
    type: "etcd-certificates",
    notify: o.notify ?? [],
    facts(ctx) {
      const v = hostView(input, ctx);
      return o.when?.test(v) === undefined ? [fact(v)] : [];
    },
    files: () => [],
    plan(facts, ctx) {
      const v = hostView(input, ctx);
      const why = o.when?.test(v);
      if (why !== undefined) return skip(why);
      const certs = o.certs(v);
      if (facts.get(fact(v)))
        return noop(`signed by the etcd CA, names and usage as planned, more than 30 days left`);
      const ca = o.caHost(v);
      const csrKey = runKey(
        `etcdCsr_${v.host.name.replaceAll("-", "_")}_${o.name.replace(/\W/g, "_")}`,
        "CSRs",
      );
      const crtKey = runKey(
        `etcdCrt_${v.host.name.replaceAll("-", "_")}_${o.name.replace(/\W/g, "_")}`,
        "certs",
      );
      const actions: Action[] = [
        { kind: "exec", command: csrScript(certs), register: { name: csrKey.name, secret: false } },
        {
          kind: "exec",
          on: ca,
          command: (scope) => signScript(certs, valueOf(scope, csrKey).split("\n")),
          register: { name: crtKey.name, secret: false },
        },
        ...certs.map((c, i): Action => ({
          kind: "write",
          path: `${c.base}.crt`,
          mode: "0644",
          owner: "root",
          group: "root",
          content: (scope) => Buffer.from(valueOf(scope, crtKey).split("\n")[i] ?? "", "base64"),
        })),
        {
          kind: "exec",
          command: certs
            .map(
              (c) =>
                sh`chown ${`${c.owner}:${c.owner}`} ${`${c.base}.key.new`} && chmod 0600 ${`${c.base}.key.new`} && mv ${`${c.base}.key.new`} ${`${c.base}.key`}`,
            )
            .join(" && "),
        },
      ];
      return change(
        `issue ${certs.map((c) => c.base.split("/").pop()).join(" and ")} from a key made here and signed by the etcd CA on ${ca}`,
        actions,
      );
    },
  };
}
