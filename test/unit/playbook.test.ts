import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import type { HostSpec } from "../../src/core/host.js";
import { interpolate } from "../../src/core/interpolate.js";
import { hostSpec } from "../helpers/host-spec.js";
import { compilePlaybook } from "../../src/playbook/compile.js";
import { BUILTIN_PLAYBOOKS, loadPlaybook, resolvePlaybook } from "../../src/playbook/load.js";

const dir = await mkdtemp(join(tmpdir(), "haprov-pb-"));
let n = 0;
async function write(text: string) {
  const f = join(dir, `pb${n++}.yaml`);
  await writeFile(f, text);
  return f;
}
const head = "name: t\nphases:\n  - name: p\n    steps:\n";

describe("playbook loading", () => {
  const bad: { name: string; steps: string; extra?: string; at: [number, number]; message: RegExp }[] = [
    {
      name: "unknown step type",
      steps: "      - pakage: { names: [x] }\n",
      at: [5, 9],
      message: /unknown step type "pakage"/,
    },
    {
      name: "two step types",
      steps: "      - package: { names: [x] }\n        service: { name: x }\n",
      at: [5, 9],
      message: /exactly one step type key, found package, service/,
    },
    {
      name: "bad step parameter",
      steps: "      - file: { path: etc/x, content: a }\n",
      at: [5, 23],
      message: /absolute path/,
    },
    {
      name: "unknown step parameter",
      steps: "      - service: { name: x, enable: true }\n",
      at: [5, 29],
      message: /unknown key "enable"/,
    },
    {
      name: "notify without handler",
      steps: "      - service: { name: x }\n        notify: [restart y]\n",
      at: [6, 18],
      message: /not a handler of phase "p"/,
    },
    {
      name: "bad selector",
      steps: "      - service: { name: x }\n",
      extra: "    hosts: masters\n",
      at: [3, 5],
      message: /expected all, a role/,
    },
  ];
  it.each(bad)("rejects: $name", async ({ steps, extra, at, message }) => {
    const text = extra ? `name: t\nphases:\n  - name: p\n${extra}    steps:\n${steps}` : `${head}${steps}`;
    const f = await write(text);
    const err = (await loadPlaybook(f, dir).catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    const hit = err.issues.find((i) => message.test(i.message));
    expect(hit, JSON.stringify(err.issues)).toBeDefined();
    if (extra) expect(hit!.location?.line).toBe(at[0] + 1);
    else expect([hit!.location?.line, hit!.location?.col]).toEqual(at);
  });

  it("when: false skips a step's reads; undecidable yet, its reads are still asked (for the run's first round trip)", async () => {
    const f = await write(
      `${head}      - when: "{{ registered.init }} == {{ host.name }}"\n        file: { path: /etc/x, content: "x" }\n`,
    );
    const pb = await loadPlaybook(f, dir);
    const host = hostSpec("cp1", "1.1.1.1");
    const step = compilePlaybook(pb, [host], undefined).phases[0]!.steps[0]!;
    const ctx = (registered: Record<string, string>) => ({
      host,
      scope: { registered, gathered: {} },
      interpolate: (t: string) => interpolate(t, { host, registered }),
      interpolateShell: (t: string) => interpolate(t, { host, registered }),
      interpolatePath: (t: string) => interpolate(t, { host, registered }),
      renderTemplate: () => "",
    });
    const keys = (r: Record<string, string>) => step.facts(ctx(r)).map((x) => x.key);
    expect(keys({})).toEqual(["file:c:/etc/x", "exists:/etc"]); // not known yet: read anyway
    expect(keys({ init: "cp2" })).toEqual([]); // known, and not this host: nothing to read
    expect(keys({ init: "cp1" })).toEqual(["file:c:/etc/x", "exists:/etc"]);
    expect(step.plan({ get: () => undefined as never }, ctx({ init: "cp2" }))).toEqual({
      kind: "skip",
      reason: 'when: "cp2 == cp1" is false',
    });
  });

  it("compiles selectors and --limit into host lists", async () => {
    const f = await write(
      `name: t\nphases:\n  - name: a\n    hosts: first(control-plane)\n    steps: []\n  - name: b\n    hosts: worker\n    steps: []\n  - name: c\n    hosts: [cp2, w1]\n    steps: []\n`,
    );
    const pb = await loadPlaybook(f, dir);
    const h = (name: string, role: "control-plane" | "worker"): HostSpec => ({
      name,
      address: "1.1.1.1",
      roles: [role],
      interface: "eth0",
      priority: undefined,
      vars: {},
      ssh: { user: "root", port: 22, identityFile: undefined, hostname: name, jump: undefined },
    });
    const hosts = [h("cp1", "control-plane"), h("cp2", "control-plane"), h("w1", "worker")];
    expect(compilePlaybook(pb, hosts, undefined).phases.map((p) => p.hosts)).toEqual([
      ["cp1"],
      ["w1"],
      ["cp2", "w1"],
    ]);
    expect(compilePlaybook(pb, hosts, ["cp2"]).phases.map((p) => p.hosts)).toEqual([[], [], ["cp2"]]);
    expect(() => compilePlaybook(pb, hosts, ["cp9"])).toThrow(InputError);
  });

  it("finds shipped playbooks by name and every shipped playbook loads", async () => {
    const f = resolvePlaybook("prepare", dir);
    expect(f).toBe(join(BUILTIN_PLAYBOOKS, "prepare.yaml"));
    const pb = await loadPlaybook(f);
    const first = pb.entries[0]!;
    expect(first.kind === "yaml" && first.steps.map((s) => s.type)).toEqual([
      "package",
      "kernel-module",
      "kernel-module",
      "sysctl",
      "file",
    ]);
    expect(() => resolvePlaybook("nope-not-here", dir)).toThrow(/no playbook named "nope-not-here"/);
  });
});
