import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli-in-process.js";

/**
 * Issue #9: a typo in a playbook name fails `validate` with exit 3 and the location — it used to
 * print "playbook OK" and then "would run" in plan. Each row: a playbook (`@@` marks where the
 * error is reported), the field path and the message.
 */
const dir = mkdtempSync(join(tmpdir(), "haprov-names-"));
const INV = join(dir, "inv.yaml");
writeFileSync(
  INV,
  `cluster: { name: t, mode: keepalived-haproxy, vip: 192.0.2.100, vrrpPassword: Zq8%pw77 }
hosts:
  - { name: cp1, address: 192.0.2.1, roles: [control-plane] }
  - { name: cp2, address: 192.0.2.2, roles: [control-plane] }
  - { name: cp3, address: 192.0.2.3, roles: [control-plane], vars: { site: a } }
vars: { root: /srv }
`,
);
const RECIPE = (extra: string, where: "before" | "after" = "after") =>
  `name: mine\nrecipe: keepalived-haproxy\nphases:\n${where === "before" ? extra : ""}  - recipe: prerequisites\n  - recipe: load balancer\n  - recipe: vip gate\n  - recipe: init\n${where === "after" ? extra : ""}  - recipe: join token\n  - recipe: join control plane\n  - recipe: join workers\n`;
const phase = (steps: string, gather = "") => `  - name: mine\n    hosts: all\n${gather}    steps:\n${steps}`;

type Row = [name: string, playbook: string, path: string, message: RegExp];
const ROWS: Row[] = [
  [
    "misspelt recipe value in when",
    RECIPE(
      phase(
        '      - when: @@"{{ registered.initnode }} == {{ host.name }}"\n        command: { run: "true" }\n',
      ),
    ),
    "phases[4].steps[0].when",
    /\{\{ registered\.initnode \}\}: nothing before this point registers "initnode" \(known here: .*initNode/,
  ],
  [
    "recipe value used before the recipe phase that makes it",
    RECIPE(phase('      - command: { run: @@"echo {{ registered.initNode }}" }\n'), "before"),
    "phases[0].steps[0].command.run",
    /nothing before this point registers "initNode"/,
  ],
  [
    "enumerated field compared with an impossible literal",
    RECIPE(phase('      - when: @@"{{ cluster.pki }} == cpoy"\n        command: { run: "true" }\n')),
    "phases[4].steps[0].when",
    /cluster\.pki is one of copy, upload: "cpoy" can never match/,
  ],
  [
    "unknown cluster field",
    RECIPE(phase('      - file: { path: /etc/x, content: @@"{{ cluster.vipp }}" }\n')),
    "phases[4].steps[0].file.content",
    /cluster has no field "vipp"/,
  ],
  [
    "unknown variable",
    RECIPE(phase('      - file: { path: @@"{{ vars.rot }}/x", content: a }\n')),
    "phases[4].steps[0].file.path",
    /no variable "rot" \(known here: root, site\)/,
  ],
  [
    "self of a gather that does not exist",
    RECIPE(
      phase(
        '      - when: @@"{{ self.answr }}"\n        command: { run: "true" }\n',
        '    gather:\n      - { name: answer, script: "true" }\n',
      ),
    ),
    "phases[4].steps[0].when",
    /no gather before this point is named "answr" \(known here: answer\)/,
  ],
  [
    "unknown value root",
    RECIPE(phase('      - command: { run: @@"echo {{ node.name }}" }\n')),
    "phases[4].steps[0].command.run",
    /"node" is not a value/,
  ],
  [
    "a register used before the step that makes it",
    RECIPE(
      phase(
        '      - command: { run: @@"echo {{ registered.out }}" }\n      - command: { run: "echo x", register: out }\n',
      ),
    ),
    "phases[4].steps[0].command.run",
    /nothing before this point registers "out"/,
  ],
  [
    "a recipe phase left out",
    `name: mine\nrecipe: keepalived-haproxy\nphases:\n  @@- recipe: prerequisites\n  - recipe: load balancer\n  - recipe: init\n  - recipe: join token\n  - recipe: join control plane\n  - recipe: join workers\n`,
    "phases",
    /leaves out vip gate/,
  ],
  [
    "recipe phases out of order",
    `name: mine\nrecipe: keepalived-haproxy\nphases:\n  @@- recipe: prerequisites\n  - recipe: vip gate\n  - recipe: load balancer\n  - recipe: init\n  - recipe: join token\n  - recipe: join control plane\n  - recipe: join workers\n`,
    "phases",
    /out of order/,
  ],
  [
    "a recipe phase that does not exist",
    RECIPE("  - recipe: @@lb\n"),
    "phases[4].recipe",
    /"lb" is not a phase of keepalived-haproxy/,
  ],
  [
    "a recipe that is not the inventory's mode",
    `name: mine\nrecipe: @@kube-vip\nphases:\n  - recipe: prerequisites\n`,
    "recipe",
    /runs the kube-vip recipe, but the inventory's mode is keepalived-haproxy/,
  ],
];

async function validate(text: string) {
  const at = text.indexOf("@@");
  const body = text.slice(0, at) + text.slice(at + 2);
  const before = body.slice(0, at).split("\n");
  const file = join(dir, `pb-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(file, body);
  const r = await cli(["validate", "-i", INV, "--playbook", file, "--json"]);
  return { r, file, line: before.length, col: before.at(-1)!.length + 1 };
}

describe("names in playbooks are checked at validate time", () => {
  it.each(ROWS)("refuses: %s", async (_name, text, path, message) => {
    const { r, file, line, col } = await validate(text);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const hit = events.find((e) => e.path === path && message.test(String(e.message)));
    expect(hit, JSON.stringify(events, null, 1)).toBeDefined();
    expect([hit!.file, hit!.line, hit!.column]).toEqual([file, line, col]);
  });

  it("a correct playbook with the operator's phase between the recipe's validates", async () => {
    const ok = RECIPE(
      phase(
        '      - when: ["{{ registered.initNode }} == {{ host.name }}", "{{ cluster.pki }} == copy"]\n        command: { run: "echo {{ vars.root }} {{ self.answer }}", register: out }\n      - command: { run: "echo {{ registered.out }}" }\n',
        '    gather:\n      - { name: answer, script: "echo {{ host.name }}" }\n',
      ),
    );
    const file = join(dir, "ok.yaml");
    writeFileSync(file, ok);
    const r = await cli(["validate", "-i", INV, "--playbook", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ {2}init: .*\n {2}mine: 2 step\(s\) on cp1, cp2, cp3\n {2}join token/);
  });
});
