import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/core/events.js";
import type { Fact } from "../../src/core/fact.js";
import type { CompiledPlaybook } from "../../src/core/phase.js";
import { Redactor } from "../../src/core/secret.js";
import type { KnownFacts } from "../../src/engine/fact-batch.js";
import {
  allowedChanges,
  inputDiffers,
  makeSavedPlan,
  recordHosts,
  stateDiffers,
  type PlanInput,
} from "../../src/cli/saved-plan.js";
import { changeKey } from "../../src/engine/change-key.js";

/**
 * `plan -o` / `up --plan` (issue #19): the saved plan records the state it was made against with
 * no secret in it, and any difference — a file, a service, a secret — refuses the apply.
 */
const known = (answers: Record<string, unknown>): KnownFacts => ({
  has: (k) => k in answers,
  get: <T>(f: Fact<T>) => answers[f.key] as T,
  entries: () => Object.entries(answers),
});

const VRRP = "pw9Xq2Lm";
const redactor = new Redactor();
redactor.add(VRRP);
const playbook: CompiledPlaybook = {
  name: "keepalived-haproxy",
  phases: [
    {
      name: "load balancer",
      hosts: ["cp1"],
      requires: "any",
      serial: undefined,
      gather: [{ name: "vrrpPassword", script: () => "x", secret: true }],
      limitedOut: [],
      steps: [],
      handlers: [],
    },
  ],
};
const input = (material = "inventory v1"): PlanInput => ({
  cluster: "lab",
  playbook,
  material,
  version: "0.1.0",
  redactor,
});
const state = (o: { cfg?: string; keepalived?: string; vrrp?: string } = {}) =>
  known({
    "file:c:/etc/haproxy/haproxy.cfg": { exists: true, mode: "0644", sha256: o.cfg ?? "cfg-hash" },
    "file:h:/etc/keepalived/keepalived.conf": {
      exists: true,
      mode: "0640",
      sha256: o.keepalived ?? "secret-file-hash",
    },
    "service:keepalived": { exists: true, active: "active", enabled: "enabled" },
    "gather:vrrpPassword:sed -n 's/auth_pass//p'": o.vrrp ?? VRRP,
    "cmd:curl -sf http://127.0.0.1:8404/healthz": true,
  });
const events: RunEvent[] = [
  {
    kind: "step",
    phase: "load balancer",
    host: "cp1",
    step: "haproxy.cfg",
    index: 2,
    status: "changed",
    changed: true,
    durationMs: 0,
    message: `would update /etc/haproxy/haproxy.cfg`,
  },
  {
    kind: "step",
    phase: "load balancer",
    host: "cp1",
    step: "keepalived.conf",
    index: 5,
    status: "ok",
    changed: false,
    durationMs: 0,
    message: "ok",
  },
  {
    kind: "handler",
    phase: "load balancer",
    host: "cp1",
    handler: "reload haproxy",
    status: "changed",
    durationMs: 0,
    message: "would run reload haproxy",
  },
];

describe("saved plan", () => {
  const made = makeSavedPlan(input(), recordHosts(new Map([["cp1", state()]]), input()), events);

  it("holds the changes and a record of the state, and no secret in any form", () => {
    const text = JSON.stringify(made);
    expect(text).not.toContain(VRRP);
    expect(text).not.toContain("secret-file-hash"); // the hash of a secret file's content
    expect(text).not.toContain("auth_pass"); // a gather's script (its key)
    expect(made.changes.map((c) => c.step)).toEqual(["haproxy.cfg", "handler: reload haproxy"]);
    expect(made.hosts.cp1!.secret.count).toBe(2);
    expect(
      Object.values(made.hosts.cp1!.facts)
        .map((f) => f.about)
        .sort(),
    ).toEqual(["a check command's exit code", "file /etc/haproxy/haproxy.cfg", "service keepalived"]);
  });

  it("the same state again: nothing differs; exactly the shown changes are allowed", () => {
    expect(stateDiffers(made, new Map([["cp1", state()]]), input())).toEqual(new Map());
    expect(allowedChanges(made)).toEqual(
      new Set([
        changeKey("cp1", "load balancer", "haproxy.cfg"),
        changeKey("cp1", "load balancer", "handler: reload haproxy"),
      ]),
    );
  });

  it.each([
    ["a file edited since", { cfg: "ccc" }, "file /etc/haproxy/haproxy.cfg"],
    ["a secret file edited since", { keepalived: "ddd" }, "a file or value that holds a secret"],
    ["another VRRP password on the host", { vrrp: "other-pw" }, "a file or value that holds a secret"],
  ])("%s: refused, saying what", (_n, change, what) => {
    const d = stateDiffers(made, new Map([["cp1", state(change)]]), input());
    expect(d.get("cp1")).toContain(what);
    expect(d.get("cp1")).toContain("make a new plan");
  });

  it("a host that cannot be read now, or was not read then, is refused", () => {
    expect(stateDiffers(made, new Map(), input()).get("cp1")).toBe("cp1 could not be read now");
    expect(
      stateDiffers(
        made,
        new Map([
          ["cp1", state()],
          ["cp2", state()],
        ]),
        input(),
      ).get("cp2"),
    ).toBe("cp2 was not read when the plan was made");
  });

  it("another inventory, playbook or haprov: refused before anything is contacted", () => {
    expect(inputDiffers(made, input())).toBeUndefined();
    expect(inputDiffers(made, input("inventory v2"))).toMatch(/the inventory .* changed/);
    expect(inputDiffers(made, { ...input(), version: "0.2.0" })).toMatch(/made by haprov 0\.1\.0/);
    expect(inputDiffers(made, { ...input(), cluster: "prod" })).toMatch(/for cluster lab/);
  });
});
