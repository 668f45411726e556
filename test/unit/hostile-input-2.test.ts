import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli-in-process.js";
import { expectLocatedRefusal } from "../helpers/located-refusal.js";

/**
 * Hostile input, second round (issue #20): the newer fields (fencing, BGP, local proxy), templates
 * inside quotes or scripts of shell fields, values in file paths, option injection, secrets in
 * paths. Each row is a file with `@@` where the error must be located; `haprov validate --json` in
 * this process must exit 3 with an error event at that file:line:col naming the field.
 */
const dir = mkdtempSync(join(tmpdir(), "haprov-hostile2-"));

type Row = [name: string, text: string, path: string, message: RegExp];

// ---------------------------------------------------------------- inventories
const CP = `  - { name: cp1, address: 10.0.0.11, roles: [control-plane] }
  - { name: cp2, address: 10.0.0.12, roles: [control-plane] }
  - { name: cp3, address: 10.0.0.13, roles: [control-plane] }
`;
const pcmk = (device: string) =>
  `cluster:\n  name: lab\n  mode: pacemaker\n  vip: 10.0.0.100\n  pacemaker:\n    fencing:\n      - ${device}\nhosts:\n${CP}`;
const ipmi = (opts: string, agent = "fence_ipmilan") =>
  pcmk(`{ id: fence-cp1, agent: ${agent}, host: cp1, options: { ${opts} } }`);
const bgp = (b: string, hosts = CP) =>
  `cluster:\n  name: lab\n  mode: kube-vip\n  vip: 192.0.2.10\n  kubeVip:\n    bgp: { localAs: 65001, ${b} }\nhosts:\n${hosts}`;
const PEER = "{ address: 10.0.0.1, as: 65000 }";

const REFUSED_KEYS: [agent: string, key: string, why: RegExp][] = [
  ["fence_ipmilan", "password_script", /runs it through a shell as root/],
  ["fence_ipmilan", "passwd_script", /runs it through a shell as root/],
  ["fence_ipmilan", "ipmitool_path", /names a program the agent runs as root/],
  ["fence_ipmilan", "sudo_path", /names a program the agent runs as root/],
  ["fence_ipmilan", "pcmk_host_list", /pcmk_\* options are Pacemaker's own/],
  ["fence_ipmilan", "pcmk_delay_max", /pcmk_\* options are Pacemaker's own/],
  ["fence_ipmilan", "action", /not an option haprov passes/],
  ["fence_ipmilan", "debug_file", /not an option haprov passes/],
  ["fence_ipmilan", "sudo", /not an option haprov passes/],
  ["fence_redfish", "gnutlscli_path", /names a program the agent runs as root/],
  ["fence_redfish", "password_script", /runs it through a shell as root/],
  ["fence_vmware_rest", "gnutlscli_path", /names a program/],
  ["fence_sbd", "sbd_path", /names a program/],
  ["fence_apc_snmp", "snmpget_path", /names a program/],
  ["fence_apc_snmp", "snmp_priv_passwd_script", /runs it through a shell/],
  ["fence_virsh", "ssh_options", /ssh options/],
  ["fence_virsh", "ssh_path", /names a program/],
  ["fence_ipmilan", "systems_uri", /not an option of fence_ipmilan/],
  ["fence_sbd", "password", /not an option of fence_sbd/],
  ["fence_redfish", "lanplus", /not an option of fence_redfish/],
];
const BAD_VALUES: [agent: string, opts: string, key: string, why: RegExp][] = [
  ["fence_ipmilan", 'ip: "10.0.0.1; reboot"', "ip", /IPv4 address or a DNS name/],
  ["fence_ipmilan", "ip: 10.0.0.256", "ip", /IPv4 address or a DNS name/],
  ["fence_ipmilan", "ipport: 0", "ipport", /TCP port/],
  ["fence_ipmilan", "lanplus: maybe", "lanplus", /true or false/],
  ["fence_ipmilan", "privlvl: root", "privlvl", /one of callback, user, operator, administrator/],
  ["fence_ipmilan", "cipher: 99", "cipher", /one of 0, 1/],
  ["fence_ipmilan", "hexadecimal_kg: zzzzzz", "hexadecimal_kg", /hexadecimal key/],
  ["fence_ipmilan", "password: abc", "password", /6 to 256 printable characters/],
  ["fence_ipmilan", "power_timeout: 5s", "power_timeout", /seconds/],
  ["fence_ipmilan", "method: reset", "method", /one of onoff, cycle/],
  ["fence_virsh", "identity_file: id_rsa", "identity_file", /absolute path/],
  ["fence_virsh", "identity_file: /root/../etc/shadow", "identity_file", /absolute path/],
  ["fence_sbd", "devices: /tmp/x", "devices", /block devices/],
  ["fence_apc_snmp", "snmp_version: 4", "snmp_version", /one of 1, 2c, 3/],
  ["fence_redfish", 'systems_uri: "redfish/v1"', "systems_uri", /URL path/],
];

const INVENTORY_ROWS: Row[] = [
  ...REFUSED_KEYS.map(([agent, key, why]): Row => [
    `fence option ${key} of ${agent}`,
    ipmi(`@@${key}: x`, agent),
    `cluster.pacemaker.fencing[0].options.${key}`,
    why,
  ]),
  ...BAD_VALUES.map(([agent, opts, key, why]): Row => [
    `fence ${agent} ${opts}`,
    ipmi(opts.replace(/^([\w_-]+): /, "$1: @@"), agent),
    `cluster.pacemaker.fencing[0].options.${key}`,
    why,
  ]),
  [
    "an unknown fence agent",
    pcmk("{ id: f1, agent: @@fence_evil, host: cp1 }"),
    "cluster.pacemaker.fencing[0].agent",
    /a fence agent haprov knows/,
  ],
  [
    "fence id k8s-vip",
    pcmk("{ id: @@k8s-vip, agent: fence_ipmilan, host: cp1 }"),
    "cluster.pacemaker.fencing[0].id",
    /haprov's resources/,
  ],
  [
    "fence id haproxy",
    pcmk("{ id: @@haproxy, agent: fence_ipmilan, host: cp1 }"),
    "cluster.pacemaker.fencing[0].id",
    /haprov's resources/,
  ],
  [
    "fence id haproxy-clone",
    pcmk("{ id: @@haproxy-clone, agent: fence_ipmilan, host: cp1 }"),
    "cluster.pacemaker.fencing[0].id",
    /haprov's resources/,
  ],
  [
    "a multicast BGP peer",
    bgp("peers: [{ address: @@224.0.0.5, as: 65000 }]"),
    "cluster.kubeVip.bgp.peers[0].address",
    /multicast/,
  ],
  [
    "an unspecified BGP peer",
    bgp("peers: [{ address: @@0.0.0.0, as: 65000 }]"),
    "cluster.kubeVip.bgp.peers[0].address",
    /unspecified/,
  ],
  [
    "a duplicate BGP peer",
    bgp(`peers: [${PEER}, { address: @@10.0.0.1, as: 65000 }]`),
    "cluster.kubeVip.bgp.peers[1].address",
    /listed twice/,
  ],
  [
    "a BGP password with $",
    bgp("peers: [{ address: 10.0.0.1, as: 65000, password: @@pw$(port)x1 }]"),
    "cluster.kubeVip.bgp.peers[0].password",
    /expands \$\(VAR\)/,
  ],
  [
    "router ID 0.0.0.0",
    bgp(
      `peers: [${PEER}]`,
      CP.replace("roles: [control-plane] }", "roles: [control-plane], routerId: @@0.0.0.0 }"),
    ),
    "hosts[0].routerId",
    /not a usable identifier/,
  ],
  [
    "router ID 255.255.255.255",
    bgp(
      `peers: [${PEER}]`,
      CP.replace("roles: [control-plane] }", "roles: [control-plane], routerId: @@255.255.255.255 }"),
    ),
    "hosts[0].routerId",
    /not a usable identifier/,
  ],
  [
    "router ID equal to a peer",
    bgp(
      `peers: [${PEER}]`,
      CP.replace("roles: [control-plane] }", "roles: [control-plane], routerId: @@10.0.0.1 }"),
    ),
    "hosts[0].routerId",
    /peer 10\.0\.0\.1's address/,
  ],
  ...["v1.031.000", "v1.31.00", "01.31.0"].map((v): Row => [
    `kubernetesVersion ${v}`,
    `cluster:\n  name: lab\n  mode: keepalived-haproxy\n  vip: 10.0.0.100\n  kubernetesVersion: @@${v}\nhosts:\n${CP}`,
    "cluster.kubernetesVersion",
    /Kubernetes version such as v1\.31\.2/,
  ]),
  ...["192.0.2.256", "0x7f.1", "2130706433", "10.1"].map((a): Row => [
    `externalEndpoint ${a}`,
    `cluster:\n  name: lab\n  mode: etcd-local-proxy\n  localProxy: { externalEndpoint: { address: @@${a} } }\nhosts:\n  - { name: cp1, address: 10.0.0.11, roles: [control-plane, etcd] }\n  - { name: cp2, address: 10.0.0.12, roles: [control-plane, etcd] }\n  - { name: cp3, address: 10.0.0.13, roles: [control-plane, etcd] }\n`,
    "cluster.localProxy.externalEndpoint.address",
    /IPv4 address or a DNS name/,
  ]),
];

// ---------------------------------------------------------------- playbooks
const INV = join(dir, "inv.yaml");
writeFileSync(
  INV,
  `cluster: { name: t, mode: keepalived-haproxy, vip: 192.0.2.100, vrrpPassword: Zq8%pw77 }
hosts:
  - { name: cp1, address: 192.0.2.1, roles: [control-plane] }
  - { name: cp2, address: 192.0.2.2, roles: [control-plane] }
  - { name: cp3, address: 192.0.2.3, roles: [control-plane], vars: { site: a } }
vars: { motd: "hello", up: "..", slash: "a/b", key: !secret "s3cret-value" }
`,
);
const pb = (steps: string, extra = "") =>
  `name: mine\nphases:\n  - name: mine\n    hosts: all\n${extra}    steps:\n${steps}`;
const step = (s: string) => `      - ${s}\n`;

/** Each shell field, with the template text placed in it, and where the error is reported. */
const SHELL_FIELDS: [field: string, make: (cmd: string) => string, path: string][] = [
  [
    "command.run",
    (c) => pb(step(`command: { run: @@${JSON.stringify(c)} }`)),
    "phases[0].steps[0].command.run",
  ],
  [
    "command.unless",
    (c) => pb(step(`command: { run: "true", unless: @@${JSON.stringify(c)} }`)),
    "phases[0].steps[0].command.unless",
  ],
  [
    "wait.until",
    (c) => pb(step(`wait: { until: @@${JSON.stringify(c)}, what: x }`)),
    "phases[0].steps[0].wait.until",
  ],
  [
    "read.script",
    (c) => pb(step(`read: { script: @@${JSON.stringify(c)}, register: r }`)),
    "phases[0].steps[0].read.script",
  ],
  [
    "gather.script",
    (c) =>
      pb(
        step(`command: { run: "true" }`),
        `    gather:\n      - { name: g, script: @@${JSON.stringify(c)} }\n`,
      ),
    "phases[0].gather[0].script",
  ],
  [
    "handler run",
    (c) =>
      pb(
        step(`command: { run: "true" }`),
        `    handlers:\n      - { name: h, run: @@${JSON.stringify(c)} }\n`,
      ),
    "phases[0].handlers[0].run",
  ],
  [
    "handler verify",
    (c) =>
      pb(
        step(`command: { run: "true" }`),
        `    handlers:\n      - { name: h, run: "true", verify: @@${JSON.stringify(c)} }\n`,
      ),
    "phases[0].handlers[0].verify",
  ],
];
const POSITIONS: [what: string, text: string, why: RegExp][] = [
  ["inside double quotes", 'echo "{{ vars.motd }}" > /etc/motd', /inside a double-quoted string/],
  ["inside single quotes", "echo '{{ vars.motd }}'", /inside a single-quoted string/],
  ["the script of sh -c", "sh -c {{ vars.motd }}", /part of a script that sh -c runs/],
  ["an argument of eval", "eval echo {{ vars.motd }}", /part of a script that eval runs/],
  ["in a here-document", "cat <<EOF\n{{ vars.motd }}\nEOF", /in a here-document/],
  ["in backquotes", "echo `echo {{ vars.motd }}`", /in a backquoted/],
  ["in a parameter expansion", "echo ${X:-{{ vars.motd }}}", /in a parameter expansion/],
  ["in arithmetic", "echo $(( {{ vars.motd }} + 1 ))", /in a arithmetic/],
];

const PLAYBOOK_ROWS: Row[] = [
  ...SHELL_FIELDS.flatMap(([field, make, path]) =>
    POSITIONS.map(([what, text, why]): Row => [`${field}: a template ${what}`, make(text), path, why]),
  ),
  [
    "a sysctl key that reads as an option",
    pb(step("sysctl: { values: { @@--load: 1 } }")),
    "phases[0].steps[0].sysctl.values.--load",
    /sysctl key/,
  ],
  [
    "a sysctl key without a dot",
    pb(step("sysctl: { values: { @@kernel: 1 } }")),
    "phases[0].steps[0].sysctl.values.kernel",
    /sysctl key/,
  ],
  [
    "a sysctl value with a newline",
    pb(
      step(
        'sysctl: { values: { kernel.core_pattern: @@"core\\nkernel.core_pattern = |/bin/sh -c reboot" } }',
      ),
    ),
    "phases[0].steps[0].sysctl.values.kernel.core_pattern",
    /one line of printable characters/,
  ],
  [
    "a service named like an option",
    pb(step("service: { name: @@-Hroot@host }")),
    "phases[0].steps[0].service.name",
    /not starting with '-'/,
  ],
  [
    "a kernel module named like an option",
    pb(step("kernel-module: { name: @@-r }")),
    "phases[0].steps[0].kernel-module.name",
    /not starting with '-'/,
  ],
  [
    "a handler service named like an option",
    pb(step('command: { run: "true" }'), "    handlers:\n      - { name: h, service: @@--now }\n"),
    "phases[0].handlers[0].service",
    /not starting with '-'/,
  ],
  [
    "a file owner that is not a name",
    pb(step('file: { path: /etc/x, content: a, owner: @@"root;id" }')),
    "phases[0].steps[0].file.owner",
    /user or group name/,
  ],
  [
    "a file group with a space",
    pb(step('file: { path: /etc/x, content: a, group: @@"a b" }')),
    "phases[0].steps[0].file.group",
    /user or group name/,
  ],
  [
    "another mode's settings",
    pb(step('file: { path: /etc/x, content: @@"{{ cluster.kubeVip }}" }')),
    "phases[0].steps[0].file.content",
    /cluster has no field "kubeVip" in mode keepalived-haproxy/,
  ],
  [
    "a !secret variable in a file path",
    pb(step('file: { path: @@"/etc/{{ vars.key }}", content: a }')),
    "phases[0].steps[0].file.path",
    /vars\.key \}\} is a secret/,
  ],
  [
    "the VRRP password as a file owner",
    pb(step('file: { path: /etc/x, content: a, owner: @@"{{ cluster.vrrpPassword }}" }')),
    "phases[0].steps[0].file.owner",
    /is a secret/,
  ],
  [
    "a secret read value in a file path",
    pb(
      step('read: { script: "cat /x", register: token, secret: true }') +
        step('file: { path: @@"/etc/{{ registered.token }}", content: a }'),
    ),
    "phases[0].steps[1].file.path",
    /registered\.token \}\} is a secret/,
  ],
  [
    "a variable with .. in a file path",
    pb(step('file: { path: @@"/etc/haprov/sites/{{ vars.up }}/x.conf", content: a }')),
    "phases[0].steps[0].file.path",
    /one path segment/,
  ],
  [
    "a variable with / in a file path",
    pb(step('file: { path: @@"/etc/haprov/sites/{{ vars.slash }}.conf", content: a }')),
    "phases[0].steps[0].file.path",
    /one path segment/,
  ],
];

async function validate(text: string, inventory?: string) {
  const at = text.indexOf("@@");
  expect(at, "row has no @@ marker").toBeGreaterThanOrEqual(0);
  const body = text.slice(0, at) + text.slice(at + 2);
  const before = body.slice(0, at).split("\n");
  const file = join(dir, `f-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(file, body);
  const args = inventory
    ? ["validate", "-i", inventory, "--playbook", file, "--json"]
    : ["validate", "-i", file, "--json"];
  const t0 = performance.now();
  const r = await cli(args);
  return { r, ms: performance.now() - t0, file, line: before.length, col: before.at(-1)!.length + 1 };
}

describe("hostile input, second round", () => {
  it("the tables hold at least 100 new cases, each once", () => {
    const all = [...INVENTORY_ROWS, ...PLAYBOOK_ROWS];
    expect(all.length).toBeGreaterThanOrEqual(100);
    expect(new Set(all.map((r) => r[0])).size).toBe(all.length);
  });

  it.each(INVENTORY_ROWS)("inventory refused: %s", async (_n, text, path, message) => {
    expectLocatedRefusal(await validate(text), path, message);
  });

  it.each(PLAYBOOK_ROWS)("playbook refused: %s", async (_n, text, path, message) => {
    expectLocatedRefusal(await validate(text, INV), path, message);
  });

  it("playbook refused: a mapping as a value (kubeVip in a kube-vip inventory)", async () => {
    const kv = join(dir, "kv.yaml");
    writeFileSync(
      kv,
      `cluster: { name: t, mode: kube-vip, vip: 192.0.2.100 }
hosts:
  - { name: cp1, address: 192.0.2.1, roles: [control-plane] }
  - { name: cp2, address: 192.0.2.2, roles: [control-plane] }
  - { name: cp3, address: 192.0.2.3, roles: [control-plane] }
`,
    );
    expectLocatedRefusal(
      await validate(pb(step('file: { path: /etc/x, content: @@"{{ cluster.kubeVip }}" }')), kv),
      "phases[0].steps[0].file.content",
      /cluster\.kubeVip is a group of settings, not one value/,
    );
  });

  it("the same values written as words of their own validate", async () => {
    const ok = pb(
      step(
        'command: { run: "echo {{ vars.motd }} > /etc/motd", unless: "grep -qx -- {{ vars.motd }} /etc/motd" }',
      ) +
        step('command: { run: "sh -c \'echo \\"$1\\"\' _ {{ vars.motd }}" }') +
        step('file: { path: "/etc/haprov/{{ host.name }}.conf", content: "{{ vars.key }}", owner: root }') +
        step("sysctl: { values: { net.ipv4.ip_forward: 1 } }"),
    );
    const file = join(dir, "ok.yaml");
    writeFileSync(file, ok);
    const r = await cli(["validate", "-i", INV, "--playbook", file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
