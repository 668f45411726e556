import { isIP } from "node:net";
import { dnsName } from "./formats.js";

/**
 * The fence agents haprov accepts and each one's options, as the agents themselves declare them
 * (`fence_X -o metadata`, fence-agents 4.12.1 in Debian 12; issue #20). Pacemaker hands a device's
 * options to its agent line by line; some options make the agent run a program as root on every
 * monitor (`password_script` goes through a shell, `ipmitool_path` names the binary it runs,
 * `ssh_options` reach ssh, where ProxyCommand is a command) or write files (`debug_file`): those are
 * refused, and so are `pcmk_*` options, which would silently override what haprov sets (the host
 * a device fences), and the agent's own `action`.
 */
export type OptionFormat =
  | "host"
  | "port"
  | "bool"
  | "int"
  | "seconds"
  | "text"
  | "secret"
  | "hex-secret"
  | "abs-path"
  | "url-path"
  | "devices"
  | { oneOf: string[] };

/** Options every agent takes from fence-agents' fencing.py (timeouts, logging, retries). */
const COMMON: Record<string, OptionFormat> = {
  quiet: "bool",
  verbose: "bool",
  verbose_level: "int",
  plug_separator: "text",
  delay: "seconds",
  disable_timeout: { oneOf: ["true", "false", "1", "0", "on", "off"] },
  login_timeout: "seconds",
  power_timeout: "seconds",
  power_wait: "seconds",
  shell_timeout: "seconds",
  stonith_status_sleep: "seconds",
  retry_on: "int",
};

const LOGIN: Record<string, OptionFormat> = {
  ip: "host",
  ipaddr: "host",
  ipport: "port",
  login: "text",
  username: "text",
  passwd: "secret",
  password: "secret",
  plug: "text",
  port: "text",
};

const SSL: Record<string, OptionFormat> = { ssl: "bool", ssl_insecure: "bool", ssl_secure: "bool" };

const IPMI: Record<string, OptionFormat> = {
  ...COMMON,
  ...LOGIN,
  auth: { oneOf: ["md5", "password", "none"] },
  cipher: { oneOf: Array.from({ length: 18 }, (_, i) => String(i)) },
  hexadecimal_kg: "hex-secret",
  lanplus: "bool",
  method: { oneOf: ["onoff", "cycle"] },
  privlvl: { oneOf: ["callback", "user", "operator", "administrator"] },
  target: "text",
  port_as_ip: "bool",
  ipmitool_timeout: "seconds",
};

export const FENCE_AGENTS: Record<string, Record<string, OptionFormat>> = {
  fence_ipmilan: IPMI,
  fence_ipmilanplus: IPMI,
  fence_idrac: IPMI,
  fence_ilo3: IPMI,
  fence_ilo4: IPMI,
  fence_ilo5: IPMI,
  fence_imm: IPMI,
  fence_redfish: {
    ...COMMON,
    ...LOGIN,
    ...SSL,
    "redfish-uri": "url-path",
    redfish_uri: "url-path",
    "systems-uri": "url-path",
    systems_uri: "url-path",
  },
  fence_vmware_rest: {
    ...COMMON,
    ...LOGIN,
    ...SSL,
    notls: "bool",
    // the path part of the vCenter API's URL, not a program: the one *_path option allowed
    api_path: "url-path",
    filter: "text",
    separator: "text",
  },
  fence_sbd: {
    ...COMMON,
    devices: "devices",
    method: { oneOf: ["onoff", "cycle"] },
    plug: "text",
    port: "text",
  },
  fence_apc_snmp: {
    ...COMMON,
    ...LOGIN,
    community: "secret",
    snmp_auth_prot: { oneOf: ["MD5", "SHA"] },
    snmp_priv_passwd: "secret",
    snmp_priv_prot: { oneOf: ["DES", "AES"] },
    snmp_sec_level: { oneOf: ["noAuthNoPriv", "authNoPriv", "authPriv"] },
    snmp_version: { oneOf: ["1", "2c", "3"] },
    separator: "text",
  },
  fence_virsh: {
    ...COMMON,
    ...LOGIN,
    cmd_prompt: "text",
    command_prompt: "text",
    identity_file: "abs-path",
    inet4_only: "bool",
    inet6_only: "bool",
    secure: "bool",
    ssh: "bool",
    missing_as_off: "bool",
  },
};

/** haprov's own Pacemaker resource ids: a fence device may not take one. */
export const RESERVED_RESOURCE_IDS = ["k8s-vip", "haproxy", "haproxy-clone"];

/** Option names that hold a secret (masked everywhere, never on a command line). */
export const isSecretOption = (agent: string, key: string): boolean => {
  const f = FENCE_AGENTS[agent]?.[key];
  return f === "secret" || f === "hex-secret" || /pass|secret|token|community|key/i.test(key);
};

/** Why this option may not be given, or undefined: a refused kind of key, or not the agent's. */
export function optionKeyProblem(agent: string, key: string): string | undefined {
  if (/^pcmk_/.test(key))
    return `${key}: pcmk_* options are Pacemaker's own and would override what haprov sets (pcmk_host_list is the device's host)`;
  if (/_script$/.test(key))
    return `${key}: the agent runs it through a shell as root on every monitor; give the value itself (a password is a secret: write \${ENV})`;
  if (/_path$/.test(key) && key !== "api_path")
    return `${key}: names a program the agent runs as root; the agent's default one is used`;
  if (["action", "debug", "debug_file", "ssh_options", "sudo", "use_sudo", "version", "help"].includes(key))
    return `${key}: not an option haprov passes (the action is Pacemaker's; debug files, ssh options and sudo change what the agent runs or writes as root)`;
  const known = FENCE_AGENTS[agent];
  if (known && !(key in known))
    return `${key}: not an option of ${agent} (its options: ${Object.keys(known).sort().join(", ")})`;
  return undefined;
}

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const ONE_LINE = /^[^\u0000-\u001f\u007f]*$/;
const BOOLS = new Set(["true", "false", "1", "0", "yes", "no", "on", "off"]);

/** Why this value does not fit the option's format, or undefined. */
export function optionValueProblem(format: OptionFormat, v: string | number | boolean): string | undefined {
  const s = String(v);
  if (typeof format === "object")
    return format.oneOf.includes(s) ? undefined : `expected one of ${format.oneOf.join(", ")}`;
  switch (format) {
    case "host":
      return isIP(s) === 4 || (!/^[\d.]+$/.test(s) && dnsName.safeParse(s).success)
        ? undefined
        : "expected an IPv4 address or a DNS name";
    case "port":
      return /^\d{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535
        ? undefined
        : "expected a TCP port 1-65535";
    case "bool":
      return BOOLS.has(s.toLowerCase()) ? undefined : "expected true or false (or 1, 0, on, off)";
    case "int":
      return /^\d{1,9}$/.test(s) ? undefined : "expected a whole number";
    case "seconds":
      return /^\d{1,6}(\.\d{1,3})?$/.test(s) ? undefined : "expected seconds, such as 5 or 0.5";
    case "text":
      return s.length <= 256 && ONE_LINE.test(s)
        ? undefined
        : "expected one line of at most 256 printable characters";
    case "secret":
      return s.length >= 6 && s.length <= 256 && ONE_LINE.test(s)
        ? undefined
        : "expected a secret of 6 to 256 printable characters on one line (shorter ones cannot be masked safely)";
    case "hex-secret":
      return /^[0-9a-fA-F]{6,128}$/.test(s) ? undefined : "expected a hexadecimal key of 6 to 128 digits";
    case "abs-path":
      return /^\/[A-Za-z0-9._/-]{1,255}$/.test(s) && !s.split("/").includes("..")
        ? undefined
        : "expected an absolute path of letters, digits, '.', '_', '-' and '/'";
    case "url-path":
      return /^\/[A-Za-z0-9._~/%-]{0,255}$/.test(s) ? undefined : "expected a URL path such as /redfish/v1";
    case "devices":
      return /^\/dev\/[A-Za-z0-9._/-]+(,\/dev\/[A-Za-z0-9._/-]+)*$/.test(s)
        ? undefined
        : "expected block devices such as /dev/disk/by-id/x, comma-separated";
  }
}
