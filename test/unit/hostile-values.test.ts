import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Action } from "../../src/core/action.js";
import type { Fact, FactReader } from "../../src/core/fact.js";
import type { HostSpec } from "../../src/core/host.js";
import type { CompiledPhase } from "../../src/core/phase.js";
import type { RunScope, StepContext } from "../../src/core/step.js";
import { Inventory } from "../../src/config/schema.js";
import { interpolateShell } from "../../src/core/interpolate.js";
import { RECIPES } from "../../src/recipes/index.js";
import { PKI_FILES } from "../../src/recipes/kubeadm/values.js";
import { hostSpec } from "../helpers/host-spec.js";
import { testCaBase64 } from "../helpers/test-ca.js";

/**
 * Issue #8: every shell line and script the recipes produce, rendered with the most hostile values
 * the inventory schema still allows, is valid shell (`sh -n`), and each value stays one word.
 * The values: a user name with '-' and '_', an interface with '.', '-' and '_', a VRRP password
 * made of `;|&<>()` and a backtick (it goes into keepalived.conf, never onto a command line).
 */
const HOSTILE_USER = "_op-s_1";
const HOSTILE_IFACE = "e.th-0_v1";
const HOSTILE_VRRP = "`;|&<>(";

const inventory = Inventory.parse({
  cluster: {
    name: "x-y",
    mode: "keepalived-haproxy",
    vip: "10.0.0.100",
    interface: HOSTILE_IFACE,
    vrrpPassword: HOSTILE_VRRP,
    pki: "copy",
  },
  ssh: { user: HOSTILE_USER },
  hosts: [
    { name: "cp1", address: "10.0.0.11", roles: ["control-plane"] },
    { name: "cp2", address: "10.0.0.12", roles: ["control-plane"] },
    { name: "w-1", address: "10.0.0.21", roles: ["worker"] },
  ],
});
const hosts: HostSpec[] = inventory.hosts.map((h) => ({
  ...hostSpec(h.name, h.address, h.roles, { interface: HOSTILE_IFACE }),
  ssh: { ...hostSpec(h.name).ssh, user: HOSTILE_USER },
}));

// A CA certificate for the join (its hash is computed from it).
const CA = testCaBase64();

/** Every run value a phase may need, as the hosts would give it. */
const scope: RunScope = {
  registered: {
    initNode: "cp1",
    vipHolder: "cp2",
    vrrpPassword: HOSTILE_VRRP,
    caCert: CA,
    certificateKey: "a".repeat(64),
    unjoined: "cp2",
    ...Object.fromEntries(PKI_FILES.map((f) => [f.key.name, CA])),
    joinToken_cp2: "abcdef.0123456789abcdef",
    joinToken_w_1: "abcdef.0123456789abcdef",
  },
  gathered: { unjoined: { cp1: "", cp2: "cp2", "w-1": "w-1" }, kubeadmStates: { cp1: "", cp2: "" } },
};

/** Facts as on a host where nothing is set up yet, so every step plans its change. */
const blank: FactReader = {
  get<T>(f: Fact<T>): T {
    if (f.key === "os-release") return f.parse("ID=debian\nVERSION_ID=12\n", 0);
    if (f.key.startsWith("sysctl:")) return f.parse("0\n", 0);
    return f.parse("", 1);
  },
};

const ctx = (host: HostSpec): StepContext => ({
  host,
  scope,
  interpolate: (t) => t,
  interpolateShell: (t) => t,
  interpolatePath: (t) => t,
  renderTemplate: () => "",
});

const later = <T>(v: T | ((s: RunScope) => T)): T =>
  typeof v === "function" ? (v as (s: RunScope) => T)(scope) : v;

/** Every shell line the phases would run on this host, and every script file they would write. */
function shellOf(phases: CompiledPhase[], host: HostSpec): { what: string; text: string }[] {
  const out: { what: string; text: string }[] = [];
  const c = ctx(host);
  for (const p of phases.filter((x) => x.hosts.includes(host.name))) {
    for (const g of p.gather) out.push({ what: `${p.name} gather ${g.name}`, text: g.script(c) });
    for (const h of p.handlers) {
      out.push({ what: `${p.name} handler ${h.name}`, text: h.run(c) });
      if (h.verify) out.push({ what: `${p.name} handler ${h.name} verify`, text: h.verify(c) });
    }
    if (p.rollLast) out.push({ what: `${p.name} roll order`, text: p.rollLast(c) });
    for (const s of p.steps) {
      for (const f of s.facts(c)) out.push({ what: `${p.name} ${s.name} fact ${f.key}`, text: f.script });
      const plan = s.plan(blank, c);
      if (plan.kind !== "change") continue;
      const actions: Action[] = [...plan.actions, ...(plan.always ?? []), ...(plan.onFailure ?? [])];
      for (const a of actions) {
        if (a.kind === "exec") out.push({ what: `${p.name} ${s.name}`, text: later(a.command) });
        else if (a.mode.endsWith("755") || later(a.content).toString().startsWith("#!/bin/sh"))
          out.push({ what: `${p.name} ${s.name} script ${a.path}`, text: later(a.content).toString() });
      }
    }
  }
  return out;
}

describe("recipes with the most hostile values the schema allows", () => {
  const phases = RECIPES["keepalived-haproxy"].phases!({ inventory, hosts, limit: undefined });
  const all = hosts.flatMap((h) => shellOf(phases, h));

  it("produce a shell line for every gather, handler, fact and planned command", () => {
    expect(all.length).toBeGreaterThan(80);
    const names = all.map((x) => x.what).join("\n");
    for (const must of [
      "kubeconfig for the login user",
      "kubeadm join --control-plane",
      "check_apiserver.sh",
      "gather vipHolder",
    ])
      expect(names).toContain(must);
  });

  it("every one of them is valid sh", () => {
    const bad = all.filter(({ text }) => spawnSync("sh", ["-n", "-c", text]).status !== 0);
    expect(bad.map((b) => `${b.what}: ${b.text}`)).toEqual([]);
  });

  it("the VRRP password never reaches a shell line, and the values stand where they belong", () => {
    const lines = all.map((x) => x.text).join("\n");
    expect(lines).not.toContain(HOSTILE_VRRP);
    expect(lines).toContain(`dev ${HOSTILE_IFACE} `);
    expect(lines).toContain(`getent passwd ${HOSTILE_USER} `);
  });
});

describe("YAML shell fields with the most hostile variable values", () => {
  it("each {{ value }} reaches the shell as one word: run here, it is echoed, never executed", () => {
    const dir = mkdtempSync(join(tmpdir(), "haprov-canary-"));
    const canary = join(dir, "canary");
    const values = [
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `; touch ${canary}`,
      `' ; touch ${canary} ; '`,
      `" ; touch ${canary} ; "`,
      `a b  c`,
      `*`,
      `-rf`,
      `{{ x }}`,
    ];
    for (const v of values) {
      const line = interpolateShell("printf '%s\\n' {{ vars.v }}", { vars: { v } });
      const r = spawnSync("sh", ["-c", line], { encoding: "utf8", cwd: dir });
      expect(r.stdout, line).toBe(`${v}\n`);
    }
    expect(existsSync(canary)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
