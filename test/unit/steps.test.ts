import { createHash } from "node:crypto";
import type { StepPlan } from "../../src/core/action.js";
import { describe, expect, it } from "vitest";
import type { Fact, FactReader } from "../../src/core/fact.js";
import type { HostSpec } from "../../src/core/host.js";
import { interpolate, interpolatePath, interpolateShell } from "../../src/core/interpolate.js";
import type { StepContext } from "../../src/core/step.js";
import { fileState, pathExists, commandSucceeds, type FileState } from "../../src/facts/file-state.js";
import { kernelModule } from "../../src/facts/kernel-module.js";
import { osRelease } from "../../src/facts/os-release.js";
import { installedPackages } from "../../src/facts/packages.js";
import { serviceState } from "../../src/facts/service.js";
import { sysctlValue } from "../../src/facts/sysctl.js";
import { STEP_TYPES } from "../../src/steps/index.js";
import { hostSpec } from "../helpers/host-spec.js";

const host: HostSpec = hostSpec("cp1", "10.0.0.11");
const ctx: StepContext = {
  host,
  scope: { registered: {}, gathered: {} },
  interpolate: (t) => interpolate(t, { host: { name: "cp1" }, registered: {} }),
  interpolateShell: (t) => interpolateShell(t, { host: { name: "cp1" }, registered: {} }),
  interpolatePath: (t) => interpolatePath(t, { host: { name: "cp1" }, registered: {} }),
  renderTemplate: (n) => `template ${n}\n`,
};
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const file = (content: string, mode = "0644", owner = "root", group = "root"): FileState => ({
  exists: true,
  mode,
  owner,
  group,
  sha256: sha(content),
  content: Buffer.from(content),
});
const debian = { id: "debian", idLike: [], versionId: "12", prettyName: "Debian 12" };

function reader(pairs: [Fact<unknown>, unknown][]): FactReader {
  const m = new Map(pairs.map(([f, v]) => [f.key, v]));
  return {
    get<T>(f: Fact<T>): T {
      if (!m.has(f.key)) throw new Error(`test forgot fact ${f.key}`);
      return m.get(f.key) as T;
    },
  };
}

interface Row {
  name: string;
  type: string;
  params: unknown;
  facts: [Fact<unknown>, unknown][];
  kind: "noop" | "change";
  /** Substrings the planned exec commands / write paths must contain, in order. */
  actions?: string[];
  summary?: RegExp;
}

const ROWS: Row[] = [
  {
    name: "file: matches",
    type: "file",
    params: { path: "/etc/x.conf", content: "a\n" },
    facts: [
      [fileState("/etc/x.conf", true), file("a\n")],
      [pathExists("/etc"), true],
    ],
    kind: "noop",
    summary: /already matches/,
  },
  {
    name: "file: missing → write",
    type: "file",
    params: { path: "/etc/x.conf", content: "a\n" },
    facts: [
      [fileState("/etc/x.conf", true), { exists: false }],
      [pathExists("/etc"), true],
    ],
    kind: "change",
    actions: ["write /etc/x.conf 0644"],
  },
  {
    name: "file: content drift → write with validation",
    type: "file",
    params: { path: "/etc/h.cfg", content: "new\n", validate: "haproxy -c -f %s" },
    facts: [
      [fileState("/etc/h.cfg", true), file("old\n")],
      [pathExists("/etc"), true],
    ],
    kind: "change",
    actions: ["write /etc/h.cfg 0644 validate=haproxy -c -f %s"],
  },
  {
    name: "file: only mode drift → chmod, no upload",
    type: "file",
    params: { path: "/etc/x.conf", content: "a\n", mode: "0640" },
    facts: [
      [fileState("/etc/x.conf", true), file("a\n", "0644")],
      [pathExists("/etc"), true],
    ],
    kind: "change",
    actions: ["chmod 0640 /etc/x.conf"],
  },
  {
    name: "file: owner drift → chown",
    type: "file",
    params: { path: "/etc/x.conf", content: "a\n" },
    facts: [
      [fileState("/etc/x.conf", true), file("a\n", "0644", "nobody", "root")],
      [pathExists("/etc"), true],
    ],
    kind: "change",
    actions: ["chown root:root /etc/x.conf"],
  },
  {
    name: "file: parent missing → mkdir first",
    type: "file",
    params: { path: "/etc/new/x.conf", content: "a\n" },
    facts: [
      [fileState("/etc/new/x.conf", true), { exists: false }],
      [pathExists("/etc/new"), false],
    ],
    kind: "change",
    actions: ["mkdir -p -m 0755 /etc/new", "write /etc/new/x.conf"],
  },
  {
    name: "file: secret content is never read back",
    type: "file",
    params: { path: "/etc/k", content: "pw\n", secret: true, mode: "0600" },
    facts: [
      [
        fileState("/etc/k", false),
        { exists: true, mode: "0600", owner: "root", group: "root", sha256: sha("old") },
      ],
      [pathExists("/etc"), true],
    ],
    kind: "change",
    actions: ["write /etc/k 0600"],
  },
  {
    name: "file: interpolated content",
    type: "file",
    params: { path: "/etc/n", content: "node {{ host.name }}\n" },
    facts: [
      [fileState("/etc/n", true), file("node cp1\n")],
      [pathExists("/etc"), true],
    ],
    kind: "noop",
  },
  {
    name: "sysctl: live and persisted",
    type: "sysctl",
    params: { values: { "net.ipv4.ip_forward": 1 } },
    facts: [
      [sysctlValue("net.ipv4.ip_forward"), "1"],
      [
        fileState("/etc/sysctl.d/99-haprov.conf", true),
        file("# Managed by haprov: changes here are put back on the next run.\nnet.ipv4.ip_forward = 1\n"),
      ],
      [pathExists("/etc/sysctl.d"), true],
    ],
    kind: "noop",
  },
  {
    name: "sysctl: live value reset",
    type: "sysctl",
    params: { values: { "net.ipv4.ip_forward": 1 } },
    facts: [
      [sysctlValue("net.ipv4.ip_forward"), "0"],
      [
        fileState("/etc/sysctl.d/99-haprov.conf", true),
        file("# Managed by haprov: changes here are put back on the next run.\nnet.ipv4.ip_forward = 1\n"),
      ],
      [pathExists("/etc/sysctl.d"), true],
    ],
    kind: "change",
    actions: ["sysctl -q -w -- net.ipv4.ip_forward=1"],
    summary: /ip_forward 0 → 1/,
  },
  {
    name: "sysctl: file missing, live ok",
    type: "sysctl",
    params: { values: { "net.ipv4.ip_forward": "1" } },
    facts: [
      [sysctlValue("net.ipv4.ip_forward"), "1"],
      [fileState("/etc/sysctl.d/99-haprov.conf", true), { exists: false }],
      [pathExists("/etc/sysctl.d"), true],
    ],
    kind: "change",
    actions: ["write /etc/sysctl.d/99-haprov.conf"],
  },
  {
    name: "service: enabled and active",
    type: "service",
    params: { name: "haproxy" },
    facts: [
      [
        serviceState("haproxy"),
        { exists: true, enabled: "enabled", active: "active", activeSinceMonotonic: 1 },
      ],
    ],
    kind: "noop",
  },
  {
    name: "service: stopped → start only",
    type: "service",
    params: { name: "haproxy" },
    facts: [
      [
        serviceState("haproxy"),
        { exists: true, enabled: "enabled", active: "inactive", activeSinceMonotonic: 0 },
      ],
    ],
    kind: "change",
    actions: ["systemctl start -- haproxy.service"],
  },
  {
    name: "service: masked → unmask, enable, start",
    type: "service",
    params: { name: "keepalived" },
    facts: [
      [
        serviceState("keepalived"),
        { exists: true, enabled: "masked", active: "inactive", activeSinceMonotonic: 0 },
      ],
    ],
    kind: "change",
    actions: [
      "systemctl unmask -- keepalived.service && systemctl enable -- keepalived.service && systemctl start -- keepalived.service",
    ],
  },
  {
    name: "service: static unit counts as enabled",
    type: "service",
    params: { name: "x" },
    facts: [
      [serviceState("x"), { exists: true, enabled: "static", active: "active", activeSinceMonotonic: 1 }],
    ],
    kind: "noop",
  },
  {
    name: "package: all installed",
    type: "package",
    params: { names: ["haproxy", "keepalived"] },
    facts: [
      [osRelease, debian],
      [installedPackages(["haproxy", "keepalived"]), new Set(["haproxy", "keepalived"])],
    ],
    kind: "noop",
  },
  {
    name: "package: one install command for the missing ones",
    type: "package",
    params: { names: ["haproxy", "keepalived", "curl"] },
    facts: [
      [osRelease, debian],
      [installedPackages(["haproxy", "keepalived", "curl"]), new Set(["curl"])],
    ],
    kind: "change",
    actions: ["apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends haproxy keepalived"],
  },
  {
    name: "package: dnf on RHEL",
    type: "package",
    params: { names: ["haproxy"] },
    facts: [
      [osRelease, { id: "rocky", idLike: ["rhel"], versionId: "9", prettyName: "Rocky" }],
      [installedPackages(["haproxy"]), new Set()],
    ],
    kind: "change",
    actions: ["dnf install -y haproxy"],
  },
  {
    name: "kernel-module: built in counts as present",
    type: "kernel-module",
    params: { name: "br_netfilter" },
    facts: [
      [kernelModule("br_netfilter"), "builtin"],
      [fileState("/etc/modules-load.d/br_netfilter.conf", true), file("br_netfilter\n")],
      [pathExists("/etc/modules-load.d"), true],
    ],
    kind: "noop",
    summary: /builtin and persisted/,
  },
  {
    name: "kernel-module: absent → modprobe + persist",
    type: "kernel-module",
    params: { name: "br_netfilter" },
    facts: [
      [kernelModule("br_netfilter"), "absent"],
      [fileState("/etc/modules-load.d/br_netfilter.conf", true), { exists: false }],
      [pathExists("/etc/modules-load.d"), true],
    ],
    kind: "change",
    actions: ["modprobe -- br_netfilter", "write /etc/modules-load.d/br_netfilter.conf"],
  },
  {
    name: "command: creates exists",
    type: "command",
    params: { run: "kubeadm init", creates: "/etc/kubernetes/admin.conf" },
    facts: [[pathExists("/etc/kubernetes/admin.conf"), true]],
    kind: "noop",
    summary: /admin.conf exists/,
  },
  {
    name: "command: unless guard fails → run",
    type: "command",
    params: { run: "touch /x", unless: "test -e /x" },
    facts: [[commandSucceeds("test -e /x"), false]],
    kind: "change",
    actions: ["touch /x"],
  },
  {
    name: "command: no guard always runs",
    type: "command",
    params: { run: "echo {{ host.name }}" },
    facts: [],
    kind: "change",
    actions: ["echo cp1"],
  },
];

function describeActions(plan: StepPlan): string[] {
  if (plan.kind !== "change") return [];
  return plan.actions.map((a) =>
    a.kind === "exec"
      ? String(a.command)
      : `write ${a.path} ${a.mode}${a.validate ? ` validate=${a.validate.command}` : ""}`,
  );
}

describe("steps plan from facts (table)", () => {
  it.each(ROWS)("$name", (row) => {
    const type = STEP_TYPES[row.type]!;
    const params = type.params.parse(row.params);
    // every fact the step asks for is in the row, and nothing else is needed
    const asked = type
      .facts(params as never, ctx)
      .map((f) => f.key)
      .sort();
    expect([...new Set(asked)]).toEqual([...new Set(row.facts.map(([f]) => f.key))].sort());
    const plan = type.plan(params as never, reader(row.facts), ctx);
    expect(plan.kind).toBe(row.kind);
    if (row.summary)
      expect(plan.kind === "change" ? plan.summary : plan.kind === "noop" ? plan.reason : "").toMatch(
        row.summary,
      );
    const got = describeActions(plan);
    expect(got).toHaveLength(row.actions?.length ?? 0);
    (row.actions ?? []).forEach((want, i) => expect(got[i]).toContain(want));
  });

  it("a content diff is a unified diff of live vs desired", () => {
    const type = STEP_TYPES.file!;
    const params = type.params.parse({ path: "/etc/h.cfg", content: "a\nb\nc\n" });
    const plan = type.plan(
      params as never,
      reader([
        [fileState("/etc/h.cfg", true), file("a\nX\nc\n")],
        [pathExists("/etc"), true],
      ]),
      ctx,
    );
    expect(plan.kind === "change" && plan.diff).toMatchInlineSnapshot(`
      "--- /etc/h.cfg (live)
      +++ /etc/h.cfg (desired)
      @@ -1,3 +1,3 @@
       a
      -X
      +b
       c
      "
    `);
  });

  it("a secret file's diff never shows its content", () => {
    const type = STEP_TYPES.file!;
    const params = type.params.parse({ path: "/etc/k", content: "new-secret\n", secret: true });
    const plan = type.plan(
      params as never,
      reader([
        [
          fileState("/etc/k", false),
          { exists: true, mode: "0644", owner: "root", group: "root", sha256: "x" },
        ],
        [pathExists("/etc"), true],
      ]),
      ctx,
    );
    expect(plan.kind === "change" && plan.diff).toBe("/etc/k: content differs (secret: diff hidden)");
  });

  it("a sysctl missing on the host fails with a hint", () => {
    const type = STEP_TYPES.sysctl!;
    const params = type.params.parse({ values: { "net.bridge.bridge-nf-call-iptables": 1 } });
    const facts = reader([
      [sysctlValue("net.bridge.bridge-nf-call-iptables"), undefined],
      [fileState("/etc/sysctl.d/99-haprov.conf", true), { exists: false }],
      [pathExists("/etc/sysctl.d"), true],
    ]);
    expect(() => type.plan(params as never, facts, ctx)).toThrow(/does not exist on cp1/);
  });
});

describe("read step", () => {
  const type = STEP_TYPES.read!;
  const factOf = (script: string) =>
    type.facts(type.params.parse({ script, register: "x" }) as never, ctx)[0]!;
  it("produces the value read from the host, changing nothing", () => {
    const p = type.params.parse({
      script: "sed -n 's/ *auth_pass //p' /etc/keepalived/keepalived.conf",
      register: "vrrp",
      secret: true,
    });
    const plan = type.plan(
      p as never,
      reader([[factOf("sed -n 's/ *auth_pass //p' /etc/keepalived/keepalived.conf"), "Ab3dE6gH"]]),
      ctx,
    );
    expect(plan).toEqual({
      kind: "noop",
      reason: "vrrp read from the host",
      produces: [{ name: "vrrp", value: "Ab3dE6gH", secret: true }],
    });
  });
  it("generates a value only when the host has none", () => {
    const p = type.params.parse({
      script: "cat /nope",
      register: "vrrp",
      secret: true,
      generate: { length: 8 },
    });
    const plan = type.plan(p as never, reader([[factOf("cat /nope"), ""]]), ctx);
    expect(plan.kind === "noop" && plan.produces?.[0]?.value).toMatch(/^[A-Za-z2-9]{8}$/);
    const none = type.plan(
      type.params.parse({ script: "cat /nope", register: "v" }) as never,
      reader([[factOf("cat /nope"), ""]]),
      ctx,
    );
    expect(none).toEqual({ kind: "noop", reason: "v: nothing on the host" });
  });
});
