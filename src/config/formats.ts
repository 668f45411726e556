import { z } from "zod";
import { parseCidr } from "./ipv4.js";

/**
 * The formats of inventory values (issue #8): every string that can reach a host has one, so a
 * value that passes validation cannot carry a newline, a quote or `$(…)` into a config file or a
 * script — and every value that goes into a shell line is quoted as well (core/quote.ts). Each
 * format's message says what is allowed, in the operator's words.
 */

/** No ASCII control characters (NUL, newline, escape…) and no DEL. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

export const dnsLabel = z.string({ error: "expected a name" }).regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
  error: "expected a DNS label: lower-case letters, digits and '-', at most 63 characters",
});

/**
 * A DNS name (host names, FQDNs): labels of letters, digits and '-', dots between, ≤ 253. The last
 * label is not all digits (issue #20): `192.0.2.256`, `2130706433` or `0x7f.1` are what inet_aton
 * reads as addresses (or a typo of one), never names, so they are refused instead of resolved.
 */
export const dnsName = z
  .string({ error: "expected a host name" })
  .max(253, { error: "expected a DNS name of at most 253 characters" })
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, {
    error: "expected a DNS name: letters, digits and '-' in dot-separated labels",
  })
  .refine((n) => !/(^|\.)\d+$/.test(n) && !/^0x[0-9a-f]+(\.|$)/i.test(n), {
    error: "looks like an IPv4 address but is not a valid one (four numbers 0-255, e.g. 192.0.2.10)",
  });

export const ipv4 = z.ipv4({ error: "expected an IPv4 address such as 10.0.0.11" });

/** An IPv4 address or a DNS name (a jump host can be either). */
export const hostAddress = z.union([ipv4, dnsName], {
  error: "expected an IPv4 address or a DNS name",
});

export const port = z
  .number({ error: "expected a TCP port number (1-65535)" })
  .int({ error: "expected a whole port number" })
  .min(1, { error: "expected a TCP port number (1-65535)" })
  .max(65535, { error: "expected a TCP port number (1-65535)" });

/**
 * A Linux interface name: 1–15 ASCII bytes (IFNAMSIZ is 16 with the NUL). The kernel also refuses
 * '/', ':' and whitespace; haprov allows only letters, digits, '_', '.' and '-', starting with a
 * letter or digit, because the name is written into keepalived.conf, where '#', '!', '{' and '}'
 * change the meaning of a line, and onto command lines, where a leading '-' reads as an option.
 */
export const interfaceName = z
  .string({ error: "expected an interface name" })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, {
    error:
      "expected a Linux interface name: 1-15 characters of letters, digits, '_', '.' and '-', starting with a letter or digit (e.g. eth0, ens192, bond0.100)",
  });

/** A POSIX login name as Debian's adduser and useradd accept it (no trailing '$'). */
export const userName = z.string({ error: "expected a user name" }).regex(/^[a-z_][a-z0-9_-]{0,31}$/, {
  error:
    "expected a POSIX user name: a lower-case letter or '_', then lower-case letters, digits, '_' or '-', at most 32 characters",
});

/** A file on the operator's machine (keys, known_hosts, ssh_config). */
export const localPath = z
  .string({ error: "expected a file path" })
  .min(1, { error: "expected a file path" })
  .max(4096, { error: "expected a file path of at most 4096 characters" })
  .regex(PRINTABLE, { error: "expected a file path without control characters (newline, tab, NUL…)" });

/** Secrets shorter than this could not be masked in output without masking unrelated text. */
export const MIN_SECRET_LENGTH = 6;

/** A secret string: printable, not too short to mask safely. */
export const secretString = z
  .string({ error: "expected a string" })
  .min(MIN_SECRET_LENGTH, {
    error: `expected at least ${MIN_SECRET_LENGTH} characters: a shorter secret cannot be masked safely in output`,
  })
  .max(1024, { error: "expected at most 1024 characters" })
  .regex(PRINTABLE, { error: "expected no control characters (newline, tab, NUL…)" });

/**
 * VRRP auth_pass: 6–8 printable ASCII characters (keepalived truncates longer ones) without
 * whitespace, quotes or '\', and without the characters keepalived's config parser gives a meaning:
 * '#' and '!' start a comment (the rest of the password would silently vanish), '{' '}' open and
 * close blocks, '$' substitutes parameters (checked with keepalived 2.2.7's `-t`).
 */
export const vrrpPassword = z
  .string({ error: "expected a string" })
  .min(MIN_SECRET_LENGTH, {
    error: `expected ${MIN_SECRET_LENGTH} to 8 characters: a shorter secret cannot be masked safely in output`,
  })
  .max(8, { error: "expected at most 8 characters: keepalived truncates longer VRRP passwords" })
  .regex(/^[\u0021-\u007e]+$/, { error: "expected printable ASCII without spaces" })
  .regex(/^[^"'\\#!${}]+$/, {
    error: "expected none of \" ' \\ # ! $ { }: keepalived.conf gives them a meaning",
  });

/**
 * A BGP session password (TCP MD5, RFC 2385: at most 80 bytes). kube-vip takes its peers as one
 * env string `address:as:password:multihop,…`, so ':' ',' and ';' would cut the password (and
 * shift every later field); whitespace and quotes are refused too.
 */
export const bgpPassword = z
  .string({ error: "expected a string" })
  .min(MIN_SECRET_LENGTH, {
    error: `expected ${MIN_SECRET_LENGTH} to 80 characters: a shorter secret cannot be masked safely in output`,
  })
  .max(80, { error: "expected at most 80 characters (the TCP MD5 key limit)" })
  .regex(/^[\u0021-\u007e]+$/, { error: "expected printable ASCII without spaces" })
  .regex(/^[^:,;"'\\$]+$/, {
    error:
      "expected none of : , ; $ \" ' \\: kube-vip's bgp_peers list uses : , and ; as separators, and the kubelet expands $(VAR) in a pod's env",
  });

/** A BGP autonomous system number (4-byte, 0 and 4294967295 reserved). */
export const asNumber = z
  .number({ error: "expected an AS number 1-4294967294" })
  .int({ error: "expected a whole AS number" })
  .min(1, { error: "expected an AS number 1-4294967294" })
  .max(4_294_967_294, { error: "expected an AS number 1-4294967294" });

/** Kubernetes minors haprov renders kubeadm configs for (v1beta3 before 1.31, v1beta4 from it). */
export const KUBERNETES_MINORS = { min: 27, max: 33 } as const;

export const kubernetesVersion = z
  .string({ error: "expected a Kubernetes version such as v1.31.2" })
  // no leading zeros (v1.031.000 would be taken as 1.31.0 by some tools and as a typo by others)
  .regex(/^v?1\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/, {
    error: "expected a Kubernetes version such as v1.31.2",
  })
  .refine(
    (v) => {
      const m = /^v?1\.(\d+)\./.exec(v);
      if (!m) return true; // the format message above already says what is wrong
      const minor = Number(m[1]);
      return minor >= KUBERNETES_MINORS.min && minor <= KUBERNETES_MINORS.max;
    },
    {
      error: `expected a supported Kubernetes version: v1.${KUBERNETES_MINORS.min}.x to v1.${KUBERNETES_MINORS.max}.x`,
    },
  )
  .transform((v) => (v.startsWith("v") ? v : `v${v}`));

/** An IPv4 network in CIDR form whose address has no host bits set (10.244.0.0/16, not 10.244.1.5/16). */
export const networkCidr = z
  .cidrv4({ error: "expected an IPv4 CIDR such as 10.244.0.0/16" })
  .refine((c) => !/^[\d.]+\/\d+$/.test(c) || parseCidr(c).hostBitsClear, {
    error: "has host bits set: write the network address (e.g. 10.244.0.0/16, not 10.244.1.5/16)",
  });

/** A name for a user variable, usable as {{ vars.NAME }}. */
export const varName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
  error: "expected a variable name: letters, digits and '_', not starting with a digit",
});

/**
 * A user variable's value: a scalar. Strings are printable (no newline or other control character),
 * at most 1024 characters; in shell fields of a playbook they are quoted like every other value.
 */
export const varValue = z.union(
  [
    z
      .string()
      .max(1024, { error: "expected at most 1024 characters" })
      .regex(PRINTABLE, { error: "expected no control characters (newline, tab, NUL…)" }),
    z.number(),
    z.boolean(),
  ],
  { error: "expected a string, a number or true/false (lists and mappings are not variables)" },
);

/** Milliseconds that Node's timers can hold (a larger value overflows to 1 ms). */
export const MAX_TIMEOUT_MS = 600_000;
