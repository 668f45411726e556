import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli-in-process.js";
import { expectLocatedRefusal } from "../helpers/located-refusal.js";

/**
 * The table of bad inventories (issue #8): one row per rule. Each row is run through
 * `haprov validate --json` in this process and must give exit 3, in under a second, a JSON error
 * event naming the field (`path`), the file, and the line and column where `@@` stands in the row's
 * YAML (the marker is removed before the file is written).
 */
const dir = mkdtempSync(join(tmpdir(), "haprov-bad-"));
writeFileSync(join(dir, "not-known-hosts"), "Host *\n  User root\n");

const CP = `  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }
  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }
  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }
`;
const HOSTS = `hosts:\n${CP}`;
/** A valid cluster mapping with extra lines (each indented by two spaces). */
const cluster = (...extra: string[]) =>
  `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.0.100\n${extra.map((l) => `  ${l}\n`).join("")}`;
const C = cluster();
/** The three control-plane hosts with cp1 written in block style plus extra lines. */
const hostsWith = (...cp1: string[]) =>
  `hosts:\n  - name: cp1\n    address: 10.0.0.11\n    roles: [control-plane]\n${cp1.map((l) => `    ${l}\n`).join("")}  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`;
const ssh = (...lines: string[]) => `ssh:\n${lines.map((l) => `  ${l}\n`).join("")}`;
/** A mode with `lb` hosts instead of the control-plane ones carrying the VIP. */
const pair = (...extra: string[]) =>
  `cluster:\n  name: lab\n  mode: haproxy-pair\n  vip: 10.0.0.100\n${extra.map((l) => `  ${l}\n`).join("")}hosts:\n  - { name: lb1, address: 10.0.0.21, roles: [lb] }\n  - { name: lb2, address: 10.0.0.22, roles: [lb] }\n${CP}`;

/** env: variables set for the row; lineOnly: the column depends on the engine (Node's stack depth). */
type Row = [
  name: string,
  yaml: string,
  path: string,
  message: RegExp,
  opts?: { env?: Record<string, string>; lineOnly?: boolean },
];

const ROWS: Row[] = [
  // --- structure and unknown keys
  ["unknown top-level key", `${C}${HOSTS}@@extra: 1\n`, "extra", /unknown key "extra"/],
  ["unknown cluster key (typo)", cluster("@@vipp: 1") + HOSTS, "cluster.vipp", /unknown key "vipp"/],
  [
    "unknown host key",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane], @@prio: 3 }\n`,
    "hosts[0].prio",
    /unknown key "prio"/,
  ],
  ["unknown ssh key", `${C}${ssh("@@identity: x")}${HOSTS}`, "ssh.identity", /unknown key "identity"/],
  [
    "bastion with unknown key",
    `${C}ssh:\n  bastion: { address: jump, @@hostname: x }\n${HOSTS}`,
    "ssh.bastion.hostname",
    /unknown key "hostname"/,
  ],
  ["missing cluster", `@@${HOSTS}`, "cluster", /required/],
  ["missing hosts", `@@${C}`, "hosts", /required/],
  ["empty hosts", `${C}hosts: @@[]\n`, "hosts", /at least one host/],
  ["hosts not a list", `${C}hosts: @@cp1\n`, "hosts", /expected array|list/i],
  ["cluster not a mapping", `cluster: @@lab\n${HOSTS}`, "cluster", /expected object|mapping/i],
  ["file is a list", `@@- cluster\n- hosts\n`, "", /expected a mapping with cluster, ssh and hosts/],
  ["empty file", `@@# nothing here\n`, "cluster", /required/],
  ["mode missing", `cluster:\n  @@name: lab\n  vip: 10.0.0.100\n${HOSTS}`, "cluster.mode", /required/],
  [
    "bad mode",
    `cluster:\n  name: lab\n  mode: @@keepalived\n  vip: 10.0.0.100\n${HOSTS}`,
    "cluster.mode",
    /expected one of: keepalived-haproxy/,
  ],
  [
    "no VIP in a VIP mode",
    `cluster:\n  @@name: lab\n  mode: kube-vip\n${HOSTS}`,
    "cluster.vip",
    /is required: expected an IPv4 address/,
  ],
  [
    "another mode's settings",
    `cluster:\n  name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n  @@kubeVip: { leaseDuration: 20 }\n${HOSTS}`,
    "cluster.kubeVip",
    /"kubeVip" is a setting of mode kube-vip, not of mode pacemaker/,
  ],
  [
    "VRRP settings in a mode without keepalived",
    `cluster:\n  name: lab\n  mode: kube-vip\n  vip: 10.0.0.100\n  @@vrrpPassword: Abc12345\n${HOSTS}`,
    "cluster.vrrpPassword",
    /"vrrpPassword" is a setting of mode keepalived-haproxy, haproxy-pair, not of mode kube-vip/,
  ],
  // --- YAML itself
  [
    "YAML syntax error",
    `cluster:\n  name: @@lab\n   mode: x\n`,
    "cluster.name",
    /multiline key|[Nn]ested|[Ii]mplicit|[Mm]apping/,
  ],
  ["duplicate key", cluster("@@name: other") + HOSTS, "cluster.name", /appears twice/],
  [
    "duplicate key inside a host",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane], @@name: cpx }\n`,
    "hosts[0].name",
    /appears twice/,
  ],
  ["a second YAML document", `${C}${HOSTS}@@---\ncluster: {}\n`, "", /second YAML document/],
  ["unknown alias", `${C}hosts:\n  - @@*nope\n`, "hosts[0]", /anchor/],
  ["tab indentation", `cluster:\n@@\tname: lab\n`, "", /tab/],
  [
    "alias bomb",
    `@@a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`,
    "",
    /alias bomb/,
  ],
  [
    "20,000 levels of flow nesting",
    `cluster: ${"[".repeat(821)}@@${"[".repeat(19_179)}${"]".repeat(20_000)}\n`,
    "cluster" + "[0]".repeat(32),
    /nested too deeply/,
    // where the YAML parser runs out of stack depends on Node's stack size
    { lineOnly: true },
  ],
  [
    "40 levels of block nesting",
    `cluster:\n${Array.from({ length: 40 }, (_, i) => `${" ".repeat(i + 1)}${i === 32 ? "@@" : ""}a:`).join("\n")}\n`,
    "cluster" + ".a".repeat(32),
    /nested more than 32 levels/,
  ],
  ["__proto__ at the top", `${C}${HOSTS}@@__proto__: { interface: x }\n`, "__proto__", /cannot be a key/],
  ["constructor in cluster", cluster("@@constructor: 1") + HOSTS, "cluster.constructor", /cannot be a key/],
  ["prototype in vars", `${C}${HOSTS}vars:\n  @@prototype: 1\n`, "vars.prototype", /cannot be a key/],
  [
    "__proto__ in a host",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane], @@__proto__: {} }\n`,
    "hosts[0].__proto__",
    /cannot be a key/,
  ],
  ["!secret on a mapping", `${C}${HOSTS}vars: !secret @@{ a: b }\n`, "vars", /!secret marks one value/],
  ["!secret on a list", `${C}${HOSTS}vars:\n  x: !secret @@[a, b]\n`, "vars.x", /!secret marks one value/],
  ["!secret too short", `${C}${HOSTS}vars:\n  token: !secret @@abc\n`, "vars.token", /at least 6 characters/],
  // --- environment
  [
    "unset environment variable",
    cluster("vrrpPassword: @@${NOPE_NOT_SET}") + HOSTS,
    "cluster.vrrpPassword",
    /environment variable NOPE_NOT_SET is not set/,
  ],
  [
    "env value with a newline into interface",
    cluster("interface: @@${T_IFACE}") + HOSTS,
    "cluster.interface",
    /interface name/,
    { env: { T_IFACE: "eth0\ntouch /tmp/x" } },
  ],
  [
    "env value with $(…) into a user",
    `${C}${ssh("user: @@${T_USER}")}${HOSTS}`,
    "ssh.user",
    /POSIX user name/,
    { env: { T_USER: "root$(id)" } },
  ],
  // --- names
  [
    "cluster name upper case",
    `cluster:\n  name: @@Lab\n  mode: keepalived-haproxy\n  vip: 10.0.0.100\n${HOSTS}`,
    "cluster.name",
    /DNS label/,
  ],
  [
    "cluster name with ;",
    `cluster:\n  name: @@"a;b"\n  mode: keepalived-haproxy\n  vip: 10.0.0.100\n${HOSTS}`,
    "cluster.name",
    /DNS label/,
  ],
  [
    "host name not a DNS label",
    `${C}hosts:\n  - name: @@CP_1\n    address: 10.0.0.11\n    roles: [control-plane]\n`,
    "hosts[0].name",
    /DNS label/,
  ],
  [
    "host name with $",
    `${C}hosts:\n  - { name: @@"cp$1", address: 10.0.0.11, roles: [control-plane] }\n`,
    "hosts[0].name",
    /DNS label/,
  ],
  [
    "host name of 64 characters",
    `${C}hosts:\n  - { name: @@${"a".repeat(64)}, address: 10.0.0.11, roles: [control-plane] }\n`,
    "hosts[0].name",
    /DNS label/,
  ],
  [
    "duplicate host name",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: @@cp1, address: 10.0.0.12, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`,
    "hosts[1].name",
    /duplicate name "cp1"/,
  ],
  // --- interfaces
  [
    "interface with $(…)",
    cluster('interface: @@"$(touch /tmp/pwned)"') + HOSTS,
    "cluster.interface",
    /interface name/,
  ],
  [
    "interface with a newline",
    cluster('interface: @@"eth0\\nexit 0"') + HOSTS,
    "cluster.interface",
    /interface name/,
  ],
  [
    "interface of 16 characters",
    cluster("interface: @@abcdefghijklmnop") + HOSTS,
    "cluster.interface",
    /1-15 characters/,
  ],
  ["interface ..", cluster('interface: @@".."') + HOSTS, "cluster.interface", /interface name/],
  [
    "interface that reads as an option",
    cluster('interface: @@"-rf"') + HOSTS,
    "cluster.interface",
    /starting with a letter or digit/,
  ],
  ["interface with /", cluster("interface: @@eth/0") + HOSTS, "cluster.interface", /interface name/],
  ["interface with a space", cluster('interface: @@"eth 0"') + HOSTS, "cluster.interface", /interface name/],
  ["interface with #", cluster('interface: @@"eth0#x"') + HOSTS, "cluster.interface", /interface name/],
  ["interface empty", cluster('interface: @@""') + HOSTS, "cluster.interface", /interface name/],
  ["interface not ASCII", cluster("interface: @@éth0") + HOSTS, "cluster.interface", /interface name/],
  [
    "host interface with backticks",
    `${C}${hostsWith('interface: @@"`reboot`"')}`,
    "hosts[0].interface",
    /interface name/,
  ],
  // --- users
  ["ssh user with ;", `${C}${ssh('user: @@"root;id"')}${HOSTS}`, "ssh.user", /POSIX user name/],
  ["ssh user upper case", `${C}${ssh("user: @@Root")}${HOSTS}`, "ssh.user", /POSIX user name/],
  [
    "ssh user of 33 characters",
    `${C}${ssh(`user: @@${"u".repeat(33)}`)}${HOSTS}`,
    "ssh.user",
    /POSIX user name/,
  ],
  ["host user with $(…)", `${C}${hostsWith('user: @@"$(id)"')}`, "hosts[0].user", /POSIX user name/],
  ["host user with a newline", `${C}${hostsWith('user: @@"ops\\nid"')}`, "hosts[0].user", /POSIX user name/],
  [
    "bastion user with a space",
    `${C}${ssh('bastion: { address: jump.example.org, user: @@"a b" }')}${HOSTS}`,
    "ssh.bastion.user",
    /POSIX user name/,
  ],
  // --- addresses
  [
    "bad VIP",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@10.0.0\n${HOSTS}`,
    "cluster.vip",
    /IPv4 address/,
  ],
  [
    "bad host address",
    `${C}hosts:\n  - name: cp1\n    address: @@10.0.0.300\n    roles: [control-plane]\n`,
    "hosts[0].address",
    /IPv4 address/,
  ],
  [
    "host address a name",
    `${C}hosts:\n  - { name: cp1, address: @@cp1.example.org, roles: [control-plane] }\n`,
    "hosts[0].address",
    /IPv4 address/,
  ],
  [
    "duplicate address",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp2, address: @@10.0.0.11, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`,
    "hosts[1].address",
    /duplicate address "10.0.0.11"/,
  ],
  [
    "VIP outside the hosts' subnet",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.1.100\nhosts:\n  - { name: cp1, address: @@10.0.0.11, roles: [control-plane] }\n`,
    "hosts[0].address",
    /outside the VIP's subnet 10.0.1.100\/24/,
  ],
  [
    "VIP equal to a host address",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@10.0.0.12\n${HOSTS}`,
    "cluster.vip",
    /equals the address of host cp2/,
  ],
  [
    "VIP is the subnet's broadcast address",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@10.0.0.255\n${HOSTS}`,
    "cluster.vip",
    /broadcast/,
  ],
  [
    "VIP is the subnet's network address",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@10.0.0.0\n${HOSTS}`,
    "cluster.vip",
    /network or broadcast/,
  ],
  [
    "VIP multicast",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@224.0.0.18\n${HOSTS}`,
    "cluster.vip",
    /multicast/,
  ],
  [
    "VIP loopback",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@127.0.0.100\n${HOSTS}`,
    "cluster.vip",
    /loopback/,
  ],
  [
    "VIP link-local",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@169.254.1.1\n${HOSTS}`,
    "cluster.vip",
    /link-local/,
  ],
  [
    "VIP unspecified",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@0.0.0.0\n${HOSTS}`,
    "cluster.vip",
    /unspecified/,
  ],
  [
    "VIP 255.255.255.255",
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: @@255.255.255.255\n${HOSTS}`,
    "cluster.vip",
    /broadcast/,
  ],
  [
    "host address multicast",
    `${C}hosts:\n  - { name: cp1, address: @@239.1.1.1, roles: [control-plane] }\n`,
    "hosts[0].address",
    /multicast/,
  ],
  [
    "host address link-local",
    `${C}hosts:\n  - { name: cp1, address: @@169.254.0.5, roles: [control-plane] }\n`,
    "hosts[0].address",
    /link-local/,
  ],
  [
    "host address unspecified",
    `${C}hosts:\n  - { name: cp1, address: @@0.0.0.0, roles: [control-plane] }\n`,
    "hosts[0].address",
    /unspecified/,
  ],
  [
    "host address reserved",
    `${C}hosts:\n  - { name: cp1, address: @@240.0.0.1, roles: [control-plane] }\n`,
    "hosts[0].address",
    /reserved/,
  ],
  [
    "bastion address with a space",
    `${C}${ssh('bastion: { address: @@"jump; id" }')}${HOSTS}`,
    "ssh.bastion.address",
    /IPv4 address or a DNS name/,
  ],
  [
    "bastion address with $(…)",
    `${C}${ssh('bastion: { address: @@"$(id).example.org" }')}${HOSTS}`,
    "ssh.bastion.address",
    /IPv4 address or a DNS name/,
  ],
  [
    "bastion is a cluster host (address)",
    `${C}${ssh("bastion: { address: @@10.0.0.12 }")}${HOSTS}`,
    "ssh.bastion.address",
    /is host cp2 of this cluster/,
  ],
  [
    "bastion is a cluster host (name)",
    `${C}${ssh("bastion: { address: @@cp3 }")}${HOSTS}`,
    "ssh.bastion.address",
    /is host cp3 of this cluster/,
  ],
  // --- roles and counts
  [
    "unknown role",
    `${C}hosts:\n  - name: cp1\n    address: 10.0.0.11\n    roles: [@@master]\n`,
    "hosts[0].roles[0]",
    /expected one of: control-plane/,
  ],
  [
    "no roles",
    `${C}hosts:\n  - name: cp1\n    address: 10.0.0.11\n    roles: @@[]\n`,
    "hosts[0].roles",
    /at least one role/,
  ],
  [
    "roles not a list",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: @@control-plane }\n`,
    "hosts[0].roles",
    /expected array|list/i,
  ],
  [
    "no control-plane host",
    `${C}hosts:\n  @@- { name: w1, address: 10.0.0.21, roles: [worker] }\n`,
    "hosts",
    /role "control-plane"/,
  ],
  [
    "even control-plane count when strict",
    `${cluster("strict: true")}hosts:\n  @@- { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n  - { name: cp4, address: 10.0.0.14, roles: [control-plane] }\n`,
    "hosts",
    /4 control-plane hosts.*odd number/,
  ],
  [
    "haproxy-pair without 2 LB hosts",
    `cluster:\n  name: lab\n  mode: haproxy-pair\n  vip: 10.0.0.100\nhosts:\n  @@- { name: cp1, address: 10.0.0.11, roles: [control-plane] }\n`,
    "hosts",
    /at least 2 hosts with role "lb"/,
  ],
  ["strict not a boolean", cluster("strict: @@yes-please") + HOSTS, "cluster.strict", /expected boolean/i],
  // --- ports
  ["port out of range", `${C}${hostsWith("port: @@70000")}`, "hosts[0].port", /TCP port/],
  ["port as a string", `${C}${ssh('port: @@"22"')}${HOSTS}`, "ssh.port", /TCP port/],
  ["ssh port 0", `${C}${ssh("port: @@0")}${HOSTS}`, "ssh.port", /TCP port/],
  [
    "bastion port 70000",
    `${C}${ssh("bastion: { address: jump, port: @@70000 }")}${HOSTS}`,
    "ssh.bastion.port",
    /TCP port/,
  ],
  [
    "LB port 6443 on control-plane nodes",
    cluster("lbPort: @@6443") + HOSTS,
    "cluster.lbPort",
    /must differ from the API server port 6443/,
  ],
  ["LB port 22 (sshd)", cluster("lbPort: @@22") + HOSTS, "cluster.lbPort", /taken by sshd/],
  ["LB port 2379 (etcd)", cluster("lbPort: @@2379") + HOSTS, "cluster.lbPort", /taken by etcd \(clients\)/],
  [
    "LB port 2380 (etcd peers)",
    cluster("lbPort: @@2380") + HOSTS,
    "cluster.lbPort",
    /taken by etcd \(peers\)/,
  ],
  ["LB port 8404 (haproxy stats)", cluster("lbPort: @@8404") + HOSTS, "cluster.lbPort", /haproxy's stats/],
  ["LB port 10250 (kubelet)", cluster("lbPort: @@10250") + HOSTS, "cluster.lbPort", /kubelet/],
  [
    "LB port 10257 (controller-manager)",
    cluster("lbPort: @@10257") + HOSTS,
    "cluster.lbPort",
    /kube-controller-manager/,
  ],
  ["LB port 10259 (scheduler)", cluster("lbPort: @@10259") + HOSTS, "cluster.lbPort", /kube-scheduler/],
  ["API server port 22", cluster("apiServerPort: @@22") + HOSTS, "cluster.apiServerPort", /taken by sshd/],
  ["API server port 10250", cluster("apiServerPort: @@10250") + HOSTS, "cluster.apiServerPort", /kubelet/],
  ["haproxy-pair LB port 2379", pair("lbPort: @@2379"), "cluster.lbPort", /etcd/],
  [
    "LB priorities farther apart than the weight a failing LB loses",
    `cluster:\n  name: lab\n  mode: haproxy-pair\n  vip: 10.0.0.100\nhosts:\n  - { name: lb1, address: 10.0.0.21, roles: [lb], priority: @@110 }\n  - { name: lb2, address: 10.0.0.22, roles: [lb], priority: 100 }\n${CP}`,
    "hosts[0].priority",
    /differ by 10, not less than the weight 2 .*keepalived#2599/,
  ],
  [
    "a weight too small for three LBs",
    `cluster:\n  name: lab\n  mode: haproxy-pair\n  vip: 10.0.0.100\n  lbPair: { weight: @@1 }\nhosts:\n  - { name: lb1, address: 10.0.0.21, roles: [lb] }\n  - { name: lb2, address: 10.0.0.22, roles: [lb] }\n  - { name: lb3, address: 10.0.0.23, roles: [lb] }\n${CP}`,
    "cluster.lbPair.weight",
    /differ by 2, not less than the weight 1/,
  ],
  [
    "an LB that is also a control-plane node on the API server's port",
    `cluster:\n  name: lab\n  mode: haproxy-pair\n  vip: 10.0.0.100\nhosts:\n  - { name: lb1, address: 10.0.0.21, roles: @@[lb, control-plane] }\n  - { name: lb2, address: 10.0.0.22, roles: [lb] }\n${CP}`,
    "hosts[0].roles",
    /both bind port 6443/,
  ],
  [
    "pacemaker without a word about fencing",
    `cluster:\n  @@name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n${HOSTS}`,
    "cluster",
    /needs "pacemaker: \{ fencing: \[\.\.\.\] \}"/,
  ],
  [
    "a fence device for a host that is not in the inventory",
    `cluster:\n  name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n  pacemaker:\n    fencing:\n      - { id: f1, agent: fence_ipmilan, host: @@cp9, options: { ip: 10.0.1.9 } }\n${HOSTS}`,
    "cluster.pacemaker.fencing[0].host",
    /"cp9" is not a host of the inventory/,
  ],
  [
    "a fence password too short to mask",
    `cluster:\n  name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n  pacemaker:\n    fencing:\n      - { id: f1, agent: fence_ipmilan, host: cp1, options: { password: @@abc } }\n${HOSTS}`,
    "cluster.pacemaker.fencing[0].options.password",
    /a secret of 6 to 256 printable characters/,
  ],
  [
    "fencing neither devices nor disabled",
    `cluster:\n  name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n  pacemaker: { fencing: @@off }\n${HOSTS}`,
    "cluster.pacemaker.fencing",
    /a list of fence devices, or "disabled"/,
  ],
  [
    "a fence agent that is not one",
    `cluster:\n  name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n  pacemaker:\n    fencing:\n      - { id: f1, agent: @@"ipmi; reboot", host: cp1 }\n${HOSTS}`,
    "cluster.pacemaker.fencing[0].agent",
    /a fence agent haprov knows: fence_ipmilan, /,
  ],
  [
    "preempt delay of 0",
    pair("lbPair: { preemptDelay: @@0 }"),
    "cluster.lbPair.preemptDelay",
    /seconds 1-3600/,
  ],
  // --- VRRP
  [
    "VRRP password longer than 8",
    cluster('vrrpPassword: @@"123456789"') + HOSTS,
    "cluster.vrrpPassword",
    /at most 8 characters/,
  ],
  [
    "VRRP password too short",
    cluster("vrrpPassword: @@abc") + HOSTS,
    "cluster.vrrpPassword",
    /6 to 8 characters/,
  ],
  [
    "VRRP password with a newline",
    cluster('vrrpPassword: @@"ab\\ncdef"') + HOSTS,
    "cluster.vrrpPassword",
    /printable ASCII/,
  ],
  [
    "VRRP password with a quote",
    cluster(`vrrpPassword: @@'ab"cdef'`) + HOSTS,
    "cluster.vrrpPassword",
    /keepalived.conf gives them a meaning/,
  ],
  [
    "VRRP password with a space",
    cluster('vrrpPassword: @@"ab cdef"') + HOSTS,
    "cluster.vrrpPassword",
    /without spaces/,
  ],
  ["VRRP password with #", cluster('vrrpPassword: @@"ab#cdef"') + HOSTS, "cluster.vrrpPassword", /meaning/],
  ["VRRP password with !", cluster('vrrpPassword: @@"ab!cdef"') + HOSTS, "cluster.vrrpPassword", /meaning/],
  ["VRRP password with $", cluster('vrrpPassword: @@"ab$cdef"') + HOSTS, "cluster.vrrpPassword", /meaning/],
  ["VRRP password with {", cluster('vrrpPassword: @@"ab{cdef"') + HOSTS, "cluster.vrrpPassword", /meaning/],
  [
    "VRRP password with a backslash",
    cluster("vrrpPassword: @@'ab\\cdef'") + HOSTS,
    "cluster.vrrpPassword",
    /meaning/,
  ],
  [
    "VRRP password not ASCII",
    cluster("vrrpPassword: @@pässwörd") + HOSTS,
    "cluster.vrrpPassword",
    /printable ASCII/,
  ],
  ["virtual_router_id 256", cluster("virtualRouterId: @@256") + HOSTS, "cluster.virtualRouterId", /255/],
  ["virtual_router_id 0", cluster("virtualRouterId: @@0") + HOSTS, "cluster.virtualRouterId", /1|small/],
  [
    "duplicate VRRP priority",
    `${C}hosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane], priority: 100 }\n  - { name: cp2, address: 10.0.0.12, roles: [control-plane], priority: @@100 }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }\n`,
    "hosts[1].priority",
    /also the priority of cp1/,
  ],
  ["priority 0", `${C}${hostsWith("priority: @@0")}`, "hosts[0].priority", /1|small/],
  ["priority 255", `${C}${hostsWith("priority: @@255")}`, "hosts[0].priority", /254|big/],
  ["vipPrefix 33", cluster("vipPrefix: @@33") + HOSTS, "cluster.vipPrefix", /32|big/],
  ["vipPrefix 7", cluster("vipPrefix: @@7") + HOSTS, "cluster.vipPrefix", /8|small/],
  [
    "unknown VRRP profile",
    cluster("vrrpProfile: @@turbo") + HOSTS,
    "cluster.vrrpProfile",
    /expected default or fast/,
  ],
  // --- Kubernetes
  [
    "bad Kubernetes version",
    cluster("kubernetesVersion: @@latest") + HOSTS,
    "cluster.kubernetesVersion",
    /Kubernetes version/,
  ],
  [
    "Kubernetes version too old",
    cluster("kubernetesVersion: @@v1.20.0") + HOSTS,
    "cluster.kubernetesVersion",
    /v1\.27\.x to v1\.33\.x/,
  ],
  [
    "Kubernetes version too new",
    cluster("kubernetesVersion: @@v1.99.0") + HOSTS,
    "cluster.kubernetesVersion",
    /supported Kubernetes version/,
  ],
  [
    "Kubernetes 2.x",
    cluster("kubernetesVersion: @@v2.0.0") + HOSTS,
    "cluster.kubernetesVersion",
    /Kubernetes version/,
  ],
  [
    "Kubernetes version with a command",
    cluster('kubernetesVersion: @@"v1.31.2; rm -rf /"') + HOSTS,
    "cluster.kubernetesVersion",
    /Kubernetes version/,
  ],
  ["bad pod CIDR", cluster("podCidr: @@10.244.0.0") + HOSTS, "cluster.podCidr", /IPv4 CIDR/],
  [
    "pod CIDR with host bits",
    cluster("podCidr: @@10.244.1.5/16") + HOSTS,
    "cluster.podCidr",
    /host bits set/,
  ],
  [
    "pod CIDR over the hosts",
    cluster("podCidr: @@10.0.0.0/16") + HOSTS,
    "cluster.podCidr",
    /contains the address of cp1, cp2, cp3/,
  ],
  [
    "pod CIDR over the service CIDR",
    cluster("podCidr: @@10.96.0.0/16") + HOSTS,
    "cluster.podCidr",
    /overlaps serviceCidr/,
  ],
  [
    "pod CIDR over the VIP's subnet",
    cluster("podCidr: @@10.0.0.128/25") + HOSTS,
    "cluster.podCidr",
    /overlaps the VIP's subnet/,
  ],
  [
    "service CIDR with host bits",
    cluster("serviceCidr: @@10.96.0.1/12") + HOSTS,
    "cluster.serviceCidr",
    /host bits set/,
  ],
  [
    "service CIDR over the hosts",
    cluster("serviceCidr: @@10.0.0.0/8") + HOSTS,
    "cluster.serviceCidr",
    /contains the address of/,
  ],
  ["unknown CNI", cluster("cni: @@calico") + HOSTS, "cluster.cni", /expected one of: flannel, none/],
  ["unknown PKI mode", cluster("pki: @@share") + HOSTS, "cluster.pki", /expected one of: copy, upload/],
  // --- ssh settings
  [
    "ssh password too short",
    `${C}${ssh("password: @@${T_PW}")}${HOSTS}`,
    "ssh.password",
    /at least 6 characters/,
    { env: { T_PW: "abc" } },
  ],
  [
    "ssh password with a newline",
    `${C}${ssh("password: @@${T_PW}")}${HOSTS}`,
    "ssh.password",
    /control characters/,
    { env: { T_PW: "secret\nline" } },
  ],
  [
    "identity file with a newline",
    `${C}${ssh('identityFile: @@"~/.ssh/id\\nx"')}${HOSTS}`,
    "ssh.identityFile",
    /control characters/,
  ],
  [
    "ssh_config path with a NUL",
    `${C}${ssh('sshConfig: @@"/tmp/x\\0y"')}${HOSTS}`,
    "ssh.sshConfig",
    /control characters|Invalid/,
  ],
  [
    "knownHosts that is not a known_hosts file",
    `${C}${ssh("knownHosts: @@not-known-hosts")}${HOSTS}`,
    "ssh.knownHosts",
    /not a known_hosts file \(line 1/,
  ],
  [
    "sudo password env in lower case",
    `${C}${ssh("sudoPasswordEnv: @@sudo_pw")}${HOSTS}`,
    "ssh.sudoPasswordEnv",
    /environment variable name/,
  ],
  [
    "connect timeout that overflows a timer",
    `${C}${ssh("connectTimeoutMs: @@99999999999")}${HOSTS}`,
    "ssh.connectTimeoutMs",
    /at most 600000/,
  ],
  [
    "connect timeout of 50 ms",
    `${C}${ssh("connectTimeoutMs: @@50")}${HOSTS}`,
    "ssh.connectTimeoutMs",
    /at least 100/,
  ],
  [
    "connect timeout not whole",
    `${C}${ssh("connectTimeoutMs: @@1500.5")}${HOSTS}`,
    "ssh.connectTimeoutMs",
    /whole number/,
  ],
  ["useAgent as a string", `${C}${ssh("useAgent: @@yes")}${HOSTS}`, "ssh.useAgent", /expected boolean/i],
  // --- vars
  [
    "a var that is a mapping",
    `${C}${hostsWith("vars: { x: @@{ y: 1 } }")}`,
    "hosts[0].vars.x",
    /lists and mappings are not variables/,
  ],
  ["a var with a newline", `${C}${HOSTS}vars:\n  x: @@"a\\nb"\n`, "vars.x", /control characters/],
  ["a var name with -", `${C}${HOSTS}vars:\n  @@my-var: 1\n`, "vars.my-var", /variable name/],
  ["a top-level var that is a list", `${C}${HOSTS}vars:\n  hosts: @@[a, b]\n`, "vars.hosts", /not variables/],
];

const run = async (yaml: string, env: Record<string, string> = {}) => {
  const at = yaml.indexOf("@@");
  expect(at, "row has no @@ marker").toBeGreaterThanOrEqual(0);
  const text = yaml.slice(0, at) + yaml.slice(at + 2);
  const before = text.slice(0, at).split("\n");
  const file = join(dir, `inv-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(file, text);
  Object.assign(process.env, env);
  try {
    const t0 = performance.now();
    const r = await cli(["validate", "-i", file, "--json"]);
    return { r, ms: performance.now() - t0, file, line: before.length, col: before.at(-1)!.length + 1 };
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
};

describe("bad inventories", () => {
  it("the table has at least 100 rows, one rule each", () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(100);
    expect(new Set(ROWS.map((r) => r[0])).size).toBe(ROWS.length);
  });

  it.each(ROWS)("refuses: %s", async (_name, yaml, path, message, opts) => {
    const res = await run(yaml, opts?.env);
    expectLocatedRefusal({ ...res, col: opts?.lineOnly ? "any" : res.col }, path, message);
  });
});
