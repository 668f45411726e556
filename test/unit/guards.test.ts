import { describe, expect, it } from "vitest";
import { change } from "../../src/core/action.js";
import type { Fact } from "../../src/core/fact.js";
import { quorumRefusal, type Guard, type MemberHealth } from "../../src/core/guard.js";
import type { CompiledPhase, HandlerDef } from "../../src/core/phase.js";
import type { BoundStep } from "../../src/core/step.js";
import { FakeHost } from "../helpers/fake-host.js";
import { runOnFakes } from "../helpers/engine-run.js";
import { hostSpec } from "../helpers/host-spec.js";
import { setStep } from "../helpers/fake-steps.js";

/**
 * Destructive actions run only behind guards the engine checks (issue #19): "fresh at start"
 * against the run's first read, "quorum" against a live read right before the action.
 */
const m = (name: string, healthy: boolean, voter = true): MemberHealth => ({ name, healthy, voter });

describe("quorumRefusal", () => {
  const cases: [string, MemberHealth[], string, "remove" | "stop" | "add", boolean][] = [
    ["3 healthy, stop one", [m("a", true), m("b", true), m("c", true)], "a", "stop", true],
    ["3 healthy, remove one", [m("a", true), m("b", true), m("c", true)], "a", "remove", true],
    ["one other paused, stop a third", [m("a", true), m("b", true), m("c", false)], "a", "stop", false],
    [
      "one other paused, remove the paused one",
      [m("a", true), m("b", true), m("c", false)],
      "c",
      "remove",
      true,
    ],
    [
      "one other paused, remove a healthy one",
      [m("a", true), m("b", true), m("c", false)],
      "a",
      "remove",
      false,
    ],
    [
      "a failed 4th joiner removed",
      [m("a", true), m("b", true), m("c", true), m("d", false)],
      "d",
      "remove",
      true,
    ],
    [
      "a learner goes: no vote lost",
      [m("a", true), m("b", false), m("d", false, false)],
      "d",
      "remove",
      true,
    ],
    ["not a member at all", [m("a", true), m("b", true)], "x", "remove", true],
    ["nothing could be read", [], "a", "stop", false],
    ["the last member", [m("a", true)], "a", "remove", false],
    [
      "5 members, 2 sick, stop a healthy one",
      [m("a", true), m("b", true), m("c", true), m("d", false), m("e", false)],
      "a",
      "stop",
      false,
    ],
    [
      "5 members, 1 sick, stop a healthy one",
      [m("a", true), m("b", true), m("c", true), m("d", true), m("e", false)],
      "a",
      "stop",
      true,
    ],
    // etcd's own strict reconfiguration check: the started members must still be a majority of
    // the grown list, the new member counted as not answering
    ["3 healthy, add a 4th", [m("a", true), m("b", true), m("c", true)], "d", "add", true],
    ["3 with one paused, add a 4th", [m("a", true), m("b", true), m("c", false)], "d", "add", false],
    ["4 healthy, add a 5th", [m("a", true), m("b", true), m("c", true), m("d", true)], "e", "add", true],
    [
      "a wiped member added again (its old entry already removed)",
      [m("a", true), m("b", true)],
      "c",
      "add",
      true,
    ],
    // etcd's exception: a lone member may grow, or one member could never become three
    ["1 healthy, add a 2nd", [m("a", true)], "b", "add", true],
    ["2 members, one down, add a 3rd", [m("a", true), m("b", false)], "c", "add", false],
    [
      "its unstarted entry is in the list already: counted once",
      [m("a", true), m("b", true), m("c", true), m("d", false)],
      "d",
      "add",
      true,
    ],
  ];
  it.each(cases)("%s", (_name, members, member, effect, allowed) => {
    const why = quorumRefusal("etcd", members, member, effect);
    expect(why === undefined).toBe(allowed);
  });

  it("names the unhealthy members in the refusal", () => {
    const why = quorumRefusal(
      "etcd",
      [m("a", true), m("b", true), { name: "c", healthy: false, detail: "no answer" }],
      "b",
      "stop",
    );
    expect(why).toContain("unhealthy: c (no answer)");
    expect(why).toContain("1 healthy of 3");
  });
});

function lab(names: string[]) {
  const clock = { seq: 0 };
  const hosts = new Map(names.map((n) => [n, new FakeHost(n, clock)]));
  return { hosts, specs: names.map((n, i) => hostSpec(n, `10.0.0.${i + 11}`)) };
}

const phase = (steps: BoundStep[], hosts: string[], extra: Partial<CompiledPhase> = {}): CompiledPhase => ({
  name: "p",
  hosts,
  requires: "all",
  serial: undefined,
  gather: [],
  limitedOut: [],
  steps,
  handlers: [],
  ...extra,
});

const run = (l: ReturnType<typeof lab>, phases: CompiledPhase[], dryRun = false) =>
  runOnFakes(l, phases, { dryRun });

/** The state a guard reads: the host's `state` key holds a comma list ("" / unset: none). */
const stateFact: Fact<string[]> = {
  key: "k:state",
  script: "FACT state",
  parse: (out, code) => (code === 0 ? out.trim().split(",").filter(Boolean) : []),
};
const fresh: Guard = { kind: "fresh-at-start", what: "Kubernetes state", state: stateFact };
const members = (key: string): Fact<MemberHealth[]> => ({
  key: `k:${key}`,
  script: `FACT ${key}`,
  parse: (out) =>
    out
      .trim()
      .split(",")
      .filter(Boolean)
      .map((x) => {
        const [name, h] = x.split(":");
        return { name: name!, healthy: h === "up" };
      }),
});

/** A join that fails once it has made state, undone by a guarded reset. */
function joinThatFails(guards: Guard[]): BoundStep {
  return {
    name: "join",
    type: "test",
    notify: [],
    facts: () => [stateFact],
    plan: () => ({
      ...change("join", [
        { kind: "exec", command: "SET state made-by-join" },
        { kind: "exec", command: "FAIL join" },
      ]),
      onFailure: [{ kind: "exec", command: "RESET", what: "kubeadm reset", guards }],
    }),
    files: () => [],
  };
}

describe("guarded actions in the engine", () => {
  it("a failed join on a host that had nothing is reset, and the failure says so", async () => {
    const l = lab(["cp1"]);
    l.hosts.get("cp1")!.failOn = /^FAIL/;
    const { events } = await run(l, [phase([joinThatFails([fresh])], ["cp1"])]);
    expect(l.hosts.get("cp1")!.commands.map((c) => c.cmd)).toContain("RESET");
    const failed = events.find((e) => e.kind === "step" && e.status === "failed");
    expect(failed && "message" in failed ? failed.message : "").toContain("kubeadm reset done");
  });

  it("a failed join on a host that had state when the run began is left as it was, and says why", async () => {
    const l = lab(["cp1"]);
    const h = l.hosts.get("cp1")!;
    h.failOn = /^FAIL/;
    h.state.set("state", "/etc/kubernetes/manifests/etcd.yaml");
    const { events } = await run(l, [phase([joinThatFails([fresh])], ["cp1"])]);
    expect(h.commands.map((c) => c.cmd)).not.toContain("RESET");
    const failed = events.find((e) => e.kind === "step" && e.status === "failed");
    const message = failed && "message" in failed ? failed.message : "";
    expect(message).toContain("kubeadm reset not run: cp1 had Kubernetes state when the run began");
    expect(message).toContain("/etc/kubernetes/manifests/etcd.yaml");
    expect(message).toContain("left as it was");
  });

  it("an undo run on another host on the joiner's behalf is guarded by the joiner's state, not its own", async () => {
    const l = lab(["cp1", "w1"]);
    l.hosts.get("cp1")!.state.set("state", "/etc/kubernetes/admin.conf"); // the init node has state
    l.hosts.get("w1")!.failOn = /^FAIL/;
    const step: BoundStep = {
      ...joinThatFails([fresh]),
      plan: () => ({
        ...change("join", [{ kind: "exec", command: "FAIL join" }]),
        onFailure: [
          { kind: "exec", on: "cp1", command: "DELETE node w1", what: "delete the Node w1", guards: [fresh] },
        ],
      }),
    };
    await run(l, [
      phase([setStep("x", "1")], ["cp1"], { name: "cp1 is part of the run" }),
      phase([step], ["w1"]),
    ]);
    expect(l.hosts.get("cp1")!.commands.map((c) => c.cmd)).toContain("DELETE node w1");
  });

  it("the state made earlier in the same run does not count: the baseline is the run's first read", async () => {
    const l = lab(["cp1"]);
    const h = l.hosts.get("cp1")!;
    h.failOn = /^FAIL/;
    // an earlier phase of this run made state; the reset still runs (this run made it)
    const early = setStep("state", "pki-copied-by-this-run");
    await run(l, [phase([early], ["cp1"]), phase([joinThatFails([fresh])], ["cp1"], { name: "q" })]);
    expect(h.commands.map((c) => c.cmd)).toContain("RESET");
  });

  it("a reset that would break etcd's quorum is refused, naming the unhealthy member", async () => {
    const l = lab(["cp1", "cp2"]);
    l.hosts.get("cp2")!.failOn = /^FAIL/;
    // cp2's member is healthy, cp3's is paused: removing cp2 leaves 1 healthy of 2
    l.hosts.get("cp1")!.state.set("etcd", "cp1:up,cp2:up,cp3:down");
    const quorum: Guard = {
      kind: "quorum",
      group: "etcd",
      member: "cp2",
      effect: "remove",
      probe: members("etcd"),
      on: "cp1",
    };
    const { events } = await run(l, [
      phase([setStep("x", "1")], ["cp1"], { name: "cp1 is part of the run" }),
      phase([joinThatFails([quorum])], ["cp2"]),
    ]);
    expect(l.hosts.get("cp2")!.commands.map((c) => c.cmd)).not.toContain("RESET");
    const failed = events.find((e) => e.kind === "step" && e.status === "failed");
    expect(failed && "message" in failed ? failed.message : "").toMatch(
      /removing cp2 from etcd would leave 1 healthy of 2.*unhealthy: cp3/,
    );
  });

  it("plan shows the guarded undo next to the change", async () => {
    const l = lab(["cp1"]);
    const { events } = await run(l, [phase([joinThatFails([fresh])], ["cp1"])], true);
    const step = events.find((e) => e.kind === "step" && e.status === "changed");
    expect(step && "message" in step ? step.message : "").toBe(
      "would join (if it fails: kubeadm reset, only if cp1 had no Kubernetes state when the run began)",
    );
    expect(l.hosts.get("cp1")!.commands).toEqual([]);
  });

  it("a handler whose guard fails is not run, and the host fails with the reason", async () => {
    const l = lab(["cp1"]);
    const h = l.hosts.get("cp1")!;
    h.state.set("etcd", "cp1:up,cp2:down,cp3:down");
    const restart: HandlerDef = {
      name: "restart etcd",
      run: () => "RESTART etcd",
      serial: true,
      guards: () => [
        { kind: "quorum", group: "etcd", member: "cp1", effect: "stop", probe: members("etcd") },
      ],
    };
    const { events, summary } = await run(l, [
      phase([setStep("conf", "new", ["restart etcd"])], ["cp1"], { handlers: [restart] }),
    ]);
    expect(h.commands.map((c) => c.cmd)).not.toContain("RESTART etcd");
    const ev = events.find((e) => e.kind === "handler");
    expect(ev && "message" in ev ? ev.message : "").toMatch(
      /restart etcd not run on cp1: stopping cp1 in etcd/,
    );
    expect(summary.hosts.cp1!.failed).toBe(1);
  });

  it("a delete guarded by 'kept elsewhere' runs only while another host keeps a copy, read right before it", async () => {
    const copy: Fact<boolean> = { key: "k:cakey", script: "FACT cakey", parse: (_o, code) => code === 0 };
    const guard: Guard = { kind: "kept-elsewhere", what: "the etcd CA's key", copy, on: ["e1", "e2", "e3"] };
    const del: BoundStep = {
      name: "ca key removed",
      type: "test",
      notify: [],
      facts: () => [],
      plan: () =>
        change("remove the key", [
          { kind: "exec", command: "DELETE cakey", what: "delete it", guards: [guard] },
        ]),
      files: () => [],
    };
    const both = [
      phase([setStep("x", "1")], ["e2", "e3"], { name: "the others are part of the run" }),
      phase([del], ["e1"]),
    ];
    // e1's own copy does not count; e2 and e3 have none
    const l = lab(["e1", "e2", "e3"]);
    l.hosts.get("e1")!.state.set("cakey", "k");
    const refused = await run(l, both);
    expect(l.hosts.get("e1")!.commands.map((c) => c.cmd)).not.toContain("DELETE cakey");
    const failed = refused.events.find((e) => e.kind === "step" && e.status === "failed");
    expect(failed && "message" in failed ? failed.message : "").toMatch(
      /no other host keeps the etcd CA's key \(e2 has none; e3 has none\)/,
    );
    // a copy on e3 lets it run; plan names the guard
    l.hosts.get("e3")!.state.set("cakey", "k");
    const planned = await run(l, both, true);
    const step = planned.events.find((e) => e.kind === "step" && e.status === "changed" && e.host === "e1");
    expect(step && "message" in step ? step.message : "").toBe(
      "would remove the key (delete it, only while one of e2, e3 keeps the etcd CA's key)",
    );
    await run(l, both);
    expect(l.hosts.get("e1")!.commands.map((c) => c.cmd)).toContain("DELETE cakey");
  });
});
