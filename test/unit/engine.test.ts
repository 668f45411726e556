import { describe, expect, it } from "vitest";
import { change, noop, observe, skip } from "../../src/core/action.js";
import type { RunEvent } from "../../src/core/events.js";
import type { HostSpec } from "../../src/core/host.js";
import { Redactor } from "../../src/core/secret.js";
import type { BoundStep } from "../../src/core/step.js";
import type { CompiledPhase, GatherDef, HandlerDef } from "../../src/core/phase.js";
import type { RunOptions } from "../../src/engine/run.js";
import { RunValues } from "../../src/engine/values.js";
import { redactingBus } from "../../src/cli/render/bus.js";
import { jsonRenderer } from "../../src/cli/render/json.js";
import { FakeHost } from "../helpers/fake-host.js";
import { runOnFakes } from "../helpers/engine-run.js";
import { failingStep, planStep, setStep } from "../helpers/fake-steps.js";

function spec(name: string): HostSpec {
  return {
    name,
    address: `10.0.0.${name.slice(-1)}`,
    roles: ["control-plane"],
    interface: "eth0",
    priority: undefined,
    vars: {},
    ssh: { user: "root", port: 22, identityFile: undefined, hostname: name, jump: undefined },
  };
}

function lab(names = ["h1", "h2", "h3"]) {
  const clock = { seq: 0 };
  const hosts = new Map(names.map((n) => [n, new FakeHost(n, clock)]));
  return { clock, hosts, specs: names.map(spec) };
}

const handler = (name: string, serial = false): HandlerDef => ({
  name,
  run: () => `RESTART ${name}`,
  serial,
});
const phase = (
  name: string,
  hosts: string[],
  steps: BoundStep[],
  extra: Partial<CompiledPhase> = {},
): CompiledPhase => ({
  name,
  hosts,
  requires: "all",
  serial: undefined,
  gather: [],
  limitedOut: [],
  steps,
  handlers: [],
  ...extra,
});

const run = (l: ReturnType<typeof lab>, phases: CompiledPhase[], o: Partial<RunOptions> = {}) =>
  runOnFakes(l, phases, o);
const steps = (events: RunEvent[]) =>
  events.filter((e): e is Extract<RunEvent, { kind: "step" }> => e.kind === "step");

const g = (name: string, extra: Partial<GatherDef> = {}): GatherDef => ({
  name,
  script: () => `FACT ${name}`,
  secret: false,
  ...extra,
});
const echo = (text: string): BoundStep => planStep("use", (_f, ctx) => change(ctx.interpolate(text), []));

describe("engine", () => {
  it("converges, then a rerun changes nothing and reads every phase's state in one round trip", async () => {
    const l = lab();
    const phases = [
      phase("one", ["h1", "h2", "h3"], [setStep("a", "1"), setStep("b", "2")]),
      phase("two", ["h1", "h2", "h3"], [setStep("c", "3")]),
    ];
    const first = await run(l, phases);
    expect(Object.values(first.summary.hosts).map((t) => t.changed)).toEqual([3, 3, 3]);
    for (const h of l.hosts.values()) expect(Object.fromEntries(h.state)).toEqual({ a: "1", b: "2", c: "3" });

    for (const h of l.hosts.values()) {
      h.batches = 0;
      h.commands.length = 0;
    }
    const second = await run(l, phases);
    expect(Object.values(second.summary.hosts).map((t) => [t.ok, t.changed])).toEqual([
      [3, 0],
      [3, 0],
      [3, 0],
    ]);
    for (const h of l.hosts.values()) {
      expect(h.batches).toBe(1); // both phases' state in the run's first round trip
      expect(h.commands).toEqual([]); // nothing but reads
    }
    expect(steps(second.events).every((e) => e.message.includes("already"))).toBe(true);
  });

  it("a step with nothing to change can carry warnings: warning events of its host, in plan and in run", async () => {
    const l = lab(["h1", "h2"]);
    const warns = planStep("check", (_f, ctx) =>
      ctx.host.name === "h1" ? { ...noop("checked"), warnings: ["an even count is left"] } : noop("checked"),
    );
    for (const dryRun of [true, false]) {
      const r = await run(l, [phase("one", ["h1", "h2"], [warns])], { dryRun });
      expect(r.events.filter((e) => e.kind === "warning")).toEqual([
        { kind: "warning", host: "h1", message: "an even count is left" },
      ]);
      expect(steps(r.events).map((e) => e.status)).toEqual(["ok", "ok"]);
    }
  });

  it("a step that only waits is ok, not changed, and later phases keep the first read (30 hosts under load)", async () => {
    const l = lab();
    for (const h of l.hosts.values()) h.state.set("a", "1");
    const waits = planStep("wait", () =>
      observe("wait until the VIP answers", [{ kind: "exec", command: "WAIT" }]),
    );
    const phases = [phase("one", ["h1"], [waits]), phase("two", ["h1", "h2", "h3"], [setStep("a", "1")])];
    const { summary, events } = await run(l, phases);
    expect(Object.values(summary.hosts).map((t) => t.changed)).toEqual([0, 0, 0]);
    const w = steps(events).find((e) => e.step === "wait")!;
    expect(w.status).toBe("ok");
    expect(w.message).toMatch(/^wait until the VIP answers: waited \d+\.\d s$/);
    expect(l.hosts.get("h1")!.commands.map((c) => c.cmd)).toContain("WAIT"); // it did run
    for (const h of ["h2", "h3"]) expect(l.hosts.get(h)!.batches).toBe(1); // phase two: the first read
    const dry = await run(l, phases, { dryRun: true });
    expect(Object.values(dry.summary.hosts).map((t) => t.changed)).toEqual([0, 0, 0]);
  });

  it("once anything changed, later phases read the hosts again instead of trusting the first read", async () => {
    const l = lab();
    for (const h of l.hosts.values()) h.state.set("a", "1");
    l.hosts.get("h2")!.state.set("a", "0"); // drift on h2
    const phases = [
      phase("one", ["h1", "h2", "h3"], [setStep("a", "1")]),
      phase("two", ["h1", "h2", "h3"], [setStep("a", "1")]),
    ];
    const { summary } = await run(l, phases);
    // phase two sees h2 as phase one left it: a stale first read would "fix" it a second time
    expect(Object.values(summary.hosts).map((t) => t.changed)).toEqual([0, 1, 0]);
    expect(l.hosts.get("h2")!.batches).toBe(2); // the first read, then phase two's own
  });

  it("re-reads state after a change, before planning the next step", async () => {
    const l = lab(["h1"]);
    // Step 2 wants the same key as step 1: with stale facts it would change it again.
    await run(l, [phase("p", ["h1"], [setStep("a", "1"), setStep("a", "1")])]);
    const h = l.hosts.get("h1")!;
    expect(h.commands.map((c) => c.cmd)).toEqual(["SET a 1"]);
    expect(h.batches).toBe(2);
  });

  it("treats phases as barriers across hosts", async () => {
    const l = lab();
    l.hosts.get("h1")!.delayMs = 20; // the slow host must still finish phase one before anyone starts two
    await run(l, [
      phase("one", ["h1", "h2", "h3"], [setStep("a", "1")]),
      phase("two", ["h1", "h2", "h3"], [setStep("b", "1")]),
    ]);
    const all = [...l.hosts.values()].flatMap((h) => h.commands);
    const lastOne = Math.max(...all.filter((c) => c.cmd.startsWith("SET a")).map((c) => c.seq));
    const firstTwo = Math.min(...all.filter((c) => c.cmd.startsWith("SET b")).map((c) => c.seq));
    expect(lastOne).toBeLessThan(firstTwo);
  });

  it("a failed step skips the rest of that host's steps; a phase needing all hosts does not start", async () => {
    const l = lab();
    l.hosts.get("h2")!.failOn = /^FAIL/;
    const failing = failingStep();
    // Only h2's command fails (the others' FAIL command succeeds in the fake).
    const { summary, events } = await run(l, [
      phase("one", ["h1", "h2", "h3"], [setStep("a", "1"), failing, setStep("b", "1")]),
      phase("two", ["h1", "h2", "h3"], [setStep("c", "1")]),
      phase("three", ["h1", "h2", "h3"], [setStep("d", "1")], { requires: "any" }),
    ]);
    const h2 = steps(events).filter((e) => e.host === "h2" && e.phase === "one");
    expect(h2.map((e) => e.status)).toEqual(["changed", "failed", "skipped"]);
    expect(h2[1]!.message).toMatch(/failed on h2/);
    expect(l.hosts.get("h1")!.state.get("b")).toBe("1"); // other hosts finished the phase
    expect(summary.skippedPhases).toEqual([{ phase: "two", reason: expect.stringMatching(/h2 failed/) }]);
    expect(l.hosts.get("h1")!.state.has("c")).toBe(false);
    // requires: any runs on the healthy hosts only
    expect(l.hosts.get("h1")!.state.get("d")).toBe("1");
    expect(l.hosts.get("h2")!.state.has("d")).toBe(false);
    expect(summary.failures).toEqual([
      { host: "h2", phase: "one", step: "explode", message: expect.any(String) },
    ]);
    expect(summary.hosts.h2).toMatchObject({ failed: 1, changed: 1 });
  });

  it("runs a handler once per host, only when a notifying step changed", async () => {
    const l = lab(["h1", "h2"]);
    l.hosts.get("h2")!.state.set("a", "1").set("b", "1"); // h2 already converged
    const p = phase("p", ["h1", "h2"], [setStep("a", "1", ["restart x"]), setStep("b", "1", ["restart x"])], {
      handlers: [handler("restart x")],
    });
    const { events } = await run(l, [p]);
    const restarts = (h: string) =>
      l.hosts.get(h)!.commands.filter((c) => c.cmd.startsWith("RESTART")).length;
    expect(restarts("h1")).toBe(1);
    expect(restarts("h2")).toBe(0);
    expect(events.filter((e) => e.kind === "handler")).toHaveLength(1);
    expect(l.hosts.get("h1")!.pending.size).toBe(0); // record cleared once it ran
  });

  it("a handler owed by a run that failed before it ran is performed by the next run", async () => {
    const l = lab(["h1"]);
    const h = l.hosts.get("h1")!;
    h.failOn = /^FAIL/;
    const withFailure = phase("p", ["h1"], [setStep("a", "1", ["restart x"]), failingStep()], {
      handlers: [handler("restart x")],
    });
    await run(l, [withFailure]);
    expect(h.commands.some((c) => c.cmd.startsWith("RESTART"))).toBe(false);
    expect(h.pending.size).toBe(1); // recorded on the host before the change was made

    h.failOn = undefined;
    h.commands.length = 0;
    const fixed = phase("p", ["h1"], [setStep("a", "1", ["restart x"])], {
      handlers: [handler("restart x")],
    });
    const { events } = await run(l, [fixed]);
    expect(steps(events).map((e) => e.status)).toEqual(["ok"]);
    expect(h.commands.map((c) => c.cmd)).toEqual([
      "RESTART restart x && rm -f /var/lib/haprov/test/h1/pending-handlers/cmVzdGFydCB4",
    ]);
    expect(h.pending.size).toBe(0);

    // and only once: a third run has nothing owed
    h.commands.length = 0;
    await run(l, [fixed]);
    expect(h.commands).toEqual([]);
  });

  it("serial handlers run one host at a time after every host finished the phase, the rollLast host last", async () => {
    const l = lab();
    l.hosts.get("h1")!.state.set("holder", "yes");
    const p = phase("p", ["h1", "h2", "h3"], [setStep("a", "1", ["roll"]), setStep("b", "1")], {
      handlers: [handler("roll", true)],
      rollLast: () => "TEST holder",
    });
    const { events } = await run(l, [p]);
    const all = [...l.hosts.values()].flatMap((h) => h.commands.map((c) => ({ ...c, host: h.host })));
    const rolls = all.filter((c) => c.cmd.startsWith("RESTART")).sort((a, b) => a.seq - b.seq);
    expect(rolls.map((r) => r.host)).toEqual(["h2", "h3", "h1"]);
    const lastStep = Math.max(...all.filter((c) => c.cmd.startsWith("SET")).map((c) => c.seq));
    expect(rolls[0]!.seq).toBeGreaterThan(lastStep);
    expect(events.filter((e) => e.kind === "handler").map((e) => (e as { host: string }).host)).toEqual([
      "h2",
      "h3",
      "h1",
    ]);
  });

  it("a serial phase reads every host ahead of the roll, and re-reads once an earlier host changed something", async () => {
    const l = lab();
    for (const h of ["h1", "h2", "h3"]) l.hosts.get(h)!.state.set("k", "v");
    await run(l, [phase("roll", ["h1", "h2", "h3"], [setStep("k", "v")], { serial: 1 })]);
    expect([...l.hosts.values()].map((h) => h.batches)).toEqual([1, 1, 1]); // nothing to do: one read each

    const m = lab();
    m.hosts.get("h2")!.state.set("k", "v");
    m.hosts.get("h3")!.state.set("k", "v");
    const { summary } = await run(m, [phase("roll", ["h1", "h2", "h3"], [setStep("k", "v")], { serial: 1 })]);
    expect(summary.hosts.h1!.changed).toBe(1);
    // h1 changed: h2 and h3 do not trust what was read before, they read again in turn
    expect([...m.hosts.values()].map((h) => h.batches)).toEqual([1, 2, 2]);
  });

  it("a serial phase runs one host at a time and stops the roll at the first failure", async () => {
    const l = lab();
    l.hosts.get("h2")!.failOn = /^FAIL/;
    let running = 0;
    let most = 0;
    const tracked: BoundStep = {
      ...setStep("j", "1"),
      plan: (f, c) => {
        most = Math.max(most, ++running);
        return setStep("j", "1").plan(f, c);
      },
    };
    const done: BoundStep = {
      ...setStep("k", "1"),
      plan: (f, c) => (running--, setStep("k", "1").plan(f, c)),
    };
    const { events, summary } = await run(l, [
      phase("join", ["h1", "h2", "h3"], [tracked, failingStep(), done], { serial: 1, requires: "any" }),
    ]);
    expect(most).toBe(1);
    expect(l.hosts.get("h1")!.state.get("k")).toBe("1");
    expect(l.hosts.get("h3")!.state.size).toBe(0); // never started: h2's failure stopped the roll
    const h3 = steps(events).filter((e) => e.host === "h3");
    expect(h3.map((e) => e.status)).toEqual(["skipped", "skipped", "skipped"]);
    expect(h3[0]!.message).toBe("not started: h2 failed earlier in this serial phase");
    expect(summary.hosts.h3).toMatchObject({ skipped: 3, changed: 0 });
  });

  it("plan (dry-run) executes nothing, writes nothing and reports what would change", async () => {
    const l = lab(["h1"]);
    const h = l.hosts.get("h1")!;
    h.pending.add(Buffer.from("restart x").toString("base64url"));
    const p = phase("p", ["h1"], [setStep("a", "1", ["restart x"])], { handlers: [handler("restart x")] });
    const { summary, events } = await run(l, [p], { dryRun: true });
    expect(h.commands).toEqual([]);
    expect(h.state.size).toBe(0);
    expect(steps(events)[0]).toMatchObject({ status: "changed", message: "would a unset → 1" });
    expect(events.find((e) => e.kind === "handler")).toMatchObject({
      status: "changed",
      message: "would run restart x",
    });
    expect(summary.dryRun).toBe(true);
    expect(h.pending.size).toBe(1);
  });

  it("after Ctrl-C no new step starts and the recap says interrupted", async () => {
    const l = lab(["h1"]);
    const controller = new AbortController();
    const stopAfterFirst: BoundStep = {
      ...setStep("a", "1"),
      plan: (f, c) => (controller.abort(), setStep("a", "1").plan(f, c)),
    };
    const { summary, events } = await run(
      l,
      [phase("p", ["h1"], [stopAfterFirst, setStep("b", "1")]), phase("q", ["h1"], [setStep("c", "1")])],
      { signal: controller.signal },
    );
    expect(steps(events).map((e) => e.status)).toEqual(["changed", "skipped"]);
    expect(l.hosts.get("h1")!.state.get("a")).toBe("1"); // the running step finished
    expect(summary.interrupted).toBe(true);
    expect(summary.skippedPhases).toEqual([{ phase: "q", reason: "interrupted" }]);
  });

  it("after Ctrl-C owed handlers do not start; their record stays for the next run", async () => {
    const l = lab(["h1"]);
    const h = l.hosts.get("h1")!;
    const controller = new AbortController();
    const changeThenStop: BoundStep = {
      ...setStep("a", "1", ["restart x"]),
      plan: (f, c) => (controller.abort(), setStep("a", "1", ["restart x"]).plan(f, c)),
    };
    await run(l, [phase("p", ["h1"], [changeThenStop], { handlers: [handler("restart x")] })], {
      signal: controller.signal,
    });
    expect(h.commands.some((c) => c.cmd.startsWith("RESTART"))).toBe(false);
    expect(h.pending.size).toBe(1);
  });

  it("an unreachable host fails the run without touching the others' later phases", async () => {
    const l = lab();
    const { summary, events } = await run(l, [phase("p", ["h1", "h2", "h3"], [setStep("a", "1")])], {
      connect: async (h) => {
        if (h.name === "h3") throw new Error("h3: cannot reach 10.0.0.3:22: ECONNREFUSED");
        return l.hosts.get(h.name)!;
      },
    });
    expect(summary.hosts.h3).toMatchObject({ unreachable: true });
    expect(events.find((e) => e.kind === "connect" && !e.ok)).toMatchObject({
      host: "h3",
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(summary.skippedPhases[0]?.reason).toMatch(/h3 failed or unreachable/);
    expect(l.hosts.get("h1")!.state.size).toBe(0);
  });

  it("values flow between hosts in memory, and secret ones are masked in every event", async () => {
    const l = lab(["h1", "h2"]);
    const produce: BoundStep = planStep("make token", () =>
      change("make token", [
        { kind: "exec", command: "ECHO tok-9f8e7d6c5b4a", register: { name: "token", secret: true } },
      ]),
    );
    const consume: BoundStep = planStep("use token", (_f, ctx) =>
      change(`join with ${ctx.interpolate("{{ registered.token }}")}`, [
        { kind: "exec", command: ctx.interpolate("JOIN {{ registered.token }}") },
      ]),
    );
    const lines: string[] = [];
    const redactor = new Redactor();
    const values = new RunValues(redactor);
    await run(l, [phase("init", ["h1"], [produce]), phase("join", ["h2"], [consume])], {
      values,
      emit: redactingBus(redactor, [jsonRenderer((s) => lines.push(s))]),
    });
    expect(l.hosts.get("h2")!.commands.map((c) => c.cmd)).toEqual(["JOIN tok-9f8e7d6c5b4a"]);
    const output = lines.join("");
    expect(output).toContain("join with ***");
    expect(output).not.toContain("tok-9f8e7d6c5b4a");
  });

  it("values a step reads from a host reach later hosts' steps in plan too, masked in output", async () => {
    const l = lab(["h1", "h2"]);
    const reads: BoundStep = planStep("read secret", () =>
      noop("read", [{ name: "pw", value: "pw-7c1e9d", secret: true }]),
    );
    const uses: BoundStep = planStep("use secret", (_f, ctx) =>
      change(`configure with ${ctx.interpolate("{{ registered.pw }}")}`, []),
    );
    const lines: string[] = [];
    const redactor = new Redactor();
    await run(l, [phase("a", ["h1"], [reads]), phase("b", ["h2"], [uses])], {
      dryRun: true,
      values: new RunValues(redactor),
      emit: redactingBus(redactor, [jsonRenderer((x) => lines.push(x))]),
    });
    expect(lines.join("")).toContain("would configure with ***");
    expect(lines.join("")).not.toContain("pw-7c1e9d");
  });

  describe("gather", () => {
    it("asks every host, then registers the first answer in inventory order; every host's answer stays visible", async () => {
      const l = lab();
      l.hosts.get("h2")!.state.set("vrrp", "fromH2");
      l.hosts.get("h3")!.state.set("vrrp", "fromH3");
      const lines: string[] = [];
      const redactor = new Redactor();
      const events: RunEvent[] = [];
      await run(
        l,
        [
          phase(
            "p",
            ["h1", "h2", "h3"],
            [echo("pw={{ registered.vrrp }} h1=[{{ gathered.vrrp.h1 }}] h3={{ gathered.vrrp.h3 }}")],
            { gather: [g("vrrp", { secret: true })] },
          ),
        ],
        {
          dryRun: true,
          values: new RunValues(redactor),
          emit: (e) => {
            events.push(e);
            redactingBus(redactor, [jsonRenderer((x) => lines.push(x))])(e);
          },
        },
      );
      // what the engine produced (before the bus) …
      expect(steps(events).map((e) => e.message)).toEqual(Array(3).fill("would pw=fromH2 h1=[] h3=fromH3"));
      // … and what any output shows
      expect(lines.join("")).toContain("would pw=*** h1=[] h3=***");
      expect(lines.join("")).not.toMatch(/fromH2|fromH3/);
      expect([...l.hosts.values()].map((h) => h.batches)).toEqual([1, 1, 1]); // one round trip each
    });

    it("generates one value for the whole run when no host has one", async () => {
      const l = lab();
      const { events } = await run(
        l,
        [
          phase("p", ["h1", "h2", "h3"], [echo("{{ registered.vrrp }}")], {
            gather: [g("vrrp", { generate: { length: 8 } })],
          }),
        ],
        { dryRun: true },
      );
      const values = new Set(steps(events).map((e) => e.message));
      expect(values.size).toBe(1);
      expect([...values][0]).toMatch(/^would [A-Za-z2-9]{8}$/);
    });

    it("a host whose answers cannot be read fails, and the phases needing every host do not start", async () => {
      const l = lab();
      const { summary, events } = await run(
        l,
        [
          phase("p", ["h1", "h2"], [setStep("a", "1")], { gather: [g("x")], requires: "any" }),
          phase("q", ["h1", "h2"], [setStep("b", "1")]),
        ],
        {
          connect: async (h) => {
            const host = l.hosts.get(h.name)!;
            if (h.name === "h2")
              host.exec = async () => ({ code: 255, stdout: "", stderr: "boom", durationMs: 0 });
            return host;
          },
        },
      );
      expect(l.hosts.get("h1")!.state.get("a")).toBe("1");
      expect(steps(events).find((e) => e.host === "h2")).toMatchObject({
        status: "skipped",
        message: expect.stringMatching(/gathering x failed on h2: exit 255: boom/),
      });
      expect(summary.failures).toEqual([
        { host: "h2", phase: "p", step: "gather", message: expect.stringMatching(/boom/) },
      ]);
      expect(summary.skippedPhases.map((p) => p.phase)).toEqual(["q"]);
    });
  });

  describe("gather expectations", () => {
    it("expect one: exactly one host answering is registered; none or two fail every host with the message", async () => {
      const l = lab();
      l.hosts.get("h2")!.state.set("vip", "h2");
      const ok = await run(l, [
        phase("p", ["h1", "h2", "h3"], [echo("holder={{ registered.vip }}")], {
          gather: [g("vip", { expect: "one" })],
        }),
      ]);
      expect(steps(ok.events).map((e) => e.message)).toEqual(Array(3).fill("holder=h2"));

      l.hosts.get("h3")!.state.set("vip", "h3");
      const two = await run(l, [
        phase("p", ["h1", "h2", "h3"], [echo("x")], {
          gather: [g("vip", { expect: "one", message: "the VIP must be held by exactly one node" })],
        }),
      ]);
      expect(two.summary.failures.map((f) => [f.host, f.message])).toEqual(
        ["h1", "h2", "h3"].map((h) => [h, "the VIP must be held by exactly one node: h2, h3 did"]),
      );
    });

    it("expect one with waitSec asks again until it holds", async () => {
      const l = lab();
      let asked = 0;
      const h1 = l.hosts.get("h1")!;
      const exec = h1.exec.bind(h1);
      h1.exec = async (cmd, o) => {
        if (++asked === 3) h1.state.set("vip", "h1");
        return exec(cmd, o);
      };
      const { summary } = await run(l, [
        phase("p", ["h1", "h2"], [echo("x")], { gather: [g("vip", { expect: "one", waitSec: 10 })] }),
      ]);
      expect(summary.failures).toEqual([]);
      expect(asked).toBeGreaterThanOrEqual(3);
    });

    it("otherwise first-host picks the first host only when every host of the phase was asked", async () => {
      const l = lab();
      const picked = await run(l, [
        phase("p", ["h1", "h2", "h3"], [echo("init={{ registered.init }}")], {
          gather: [g("init", { otherwise: "first-host" })],
        }),
      ]);
      expect(steps(picked.events).map((e) => e.message)).toEqual(Array(3).fill("init=h1"));

      // h1 existing wins over order
      l.hosts.get("h3")!.state.set("init", "h3");
      const existing = await run(l, [
        phase("p", ["h1", "h2", "h3"], [echo("init={{ registered.init }}")], {
          gather: [g("init", { otherwise: "first-host" })],
        }),
      ]);
      expect(steps(existing.events).map((e) => e.message)).toEqual(Array(3).fill("init=h3"));

      l.hosts.get("h3")!.state.delete("init");
      const limited = await run(l, [
        phase("p", ["h2", "h3"], [echo("x")], {
          gather: [g("init", { otherwise: "first-host" })],
          limitedOut: ["h1"],
        }),
      ]);
      expect(limited.summary.failures[0]!.message).toMatch(/h1 could not be asked .*refusing to choose h2/);
    });
  });

  it("in plan, a value only known at apply time is an explicit unknown, not a fake string", async () => {
    const l = lab(["h1"]);
    const consume: BoundStep = planStep("use token", (_f, ctx) =>
      change("join", [{ kind: "exec", command: ctx.interpolate("JOIN {{ registered.token }}") }]),
    );
    const { events } = await run(l, [phase("p", ["h1"], [consume])], { dryRun: true });
    expect(steps(events)[0]!.message).toMatch(/registered.token.*not known yet/);
  });

  it("an action can run on another host on this host's behalf; a value it registers is read by a later action", async () => {
    const l = lab(["h1", "h2"]);
    const join: BoundStep = planStep("join", (_f, ctx) =>
      ctx.host.name === "h1"
        ? noop("h1 makes the tokens")
        : {
            ...change("join with a token made on h1", [
              { kind: "exec", on: "h1", command: "ECHO tok-for-h2", register: { name: "tok", secret: true } },
              { kind: "exec", command: (scope) => `SET joined ${scope.registered.tok}` },
            ]),
            always: [{ kind: "exec", on: "h1", command: (scope) => `SET deleted ${scope.registered.tok}` }],
          },
    );
    const { events, summary } = await run(l, [phase("p", ["h1", "h2"], [join])]);
    expect(summary.failures).toEqual([]);
    expect(l.hosts.get("h2")!.state.get("joined")).toBe("tok-for-h2");
    expect(l.hosts.get("h1")!.state.get("deleted")).toBe("tok-for-h2");
    expect(l.hosts.get("h1")!.commands.map((c) => c.cmd)).toEqual([
      "ECHO tok-for-h2",
      "SET deleted tok-for-h2",
    ]);
    // the token never reaches an event
    expect(JSON.stringify(events)).not.toContain("tok-for-h2");
  });

  it("the clean-up actions run when the step's actions fail, and the first failure is reported", async () => {
    const l = lab(["h1", "h2"]);
    l.hosts.get("h2")!.failOn = /^FAIL/;
    const join: BoundStep = planStep("join", (_f, ctx) =>
      ctx.host.name === "h1"
        ? noop("-")
        : {
            ...change("join", [
              { kind: "exec", on: "h1", command: "ECHO tok", register: { name: "tok", secret: false } },
              { kind: "exec", command: "FAIL join" },
            ]),
            always: [{ kind: "exec", on: "h1", command: "SET deleted yes" }],
          },
    );
    const { summary } = await run(l, [phase("p", ["h1", "h2"], [join])]);
    expect(summary.failures.map((f) => [f.host, f.message])).toEqual([
      ["h2", expect.stringMatching(/FAIL join/)],
    ]);
    expect(l.hosts.get("h1")!.state.get("deleted")).toBe("yes");
  });

  it("plan shows an action on another host's behalf as a change and runs nothing anywhere", async () => {
    const l = lab(["h1", "h2"]);
    const join = planStep("join", () =>
      change("join via h1", [{ kind: "exec", on: "h1", command: "SET x 1" }]),
    );
    const { events } = await run(l, [phase("p", ["h2"], [join])], { dryRun: true });
    expect(steps(events).map((e) => [e.status, e.message])).toEqual([["changed", "would join via h1"]]);
    expect([...l.hosts.values()].flatMap((h) => h.commands)).toEqual([]);
  });

  it("a step that does not apply is counted skipped, with its reason", async () => {
    const l = lab(["h1"]);
    const notHere = planStep("init", () => skip("h2 initialises the cluster"));
    const { events, summary } = await run(l, [phase("p", ["h1"], [notHere])]);
    expect(steps(events).map((e) => [e.status, e.message])).toEqual([
      ["skipped", "h2 initialises the cluster"],
    ]);
    expect(summary.hosts.h1).toMatchObject({ ok: 0, skipped: 1 });
  });
});
