import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { interpolateShell } from "../../src/core/interpolate.js";
import { Redactor } from "../../src/core/secret.js";
import type { RunEvent } from "../../src/core/events.js";
import { redactingBus } from "../../src/cli/render/bus.js";
import { jsonRenderer } from "../../src/cli/render/json.js";
import { plainRenderer } from "../../src/cli/render/plain.js";
import { templatePositions } from "../../src/playbook/shell-positions.js";

/**
 * Properties (issue #20), checked with fast-check:
 * - quoting: in every position `validate` lets a template stand in a shell field, any value an
 *   inventory may hold reaches the command as exactly that value, run by a real `sh`;
 * - masking: any secret, of any YAML type, in any of the forms it takes on the way out (plain,
 *   inside a single-quoted shell word, inside JSON) never appears in plain, -v or --json output.
 */

/** What an inventory variable may hold: printable, no control characters (config/formats.ts). */
const value = fc.string({
  unit: fc.constantFrom(..." !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~é€"),
  maxLength: 40,
});

/** Shell-field shapes validate accepts, each printing the value once, framed by [ ]. */
const ALLOWED = [
  "printf '[%s]' {{ vars.x }}",
  "printf '[%s]' prefix{{ vars.x }}suffix | sed 's/^\\[prefix/[/; s/suffix\\]$/]/'",
  "v=$(printf '%s' {{ vars.x }}); printf '[%s]' \"$v\"",
  "printf '[%s]' \"$(printf '%s' {{ vars.x }})\"",
  'sh -c \'printf "[%s]" "$1"\' _ {{ vars.x }}',
  "test -n x && printf '[%s]' {{ vars.x }}",
  "for w in {{ vars.x }}; do printf '[%s]' \"$w\"; done",
];

describe("quoting: any value, any position validate allows, runs as exactly that value", () => {
  it("every shape is one validate accepts (each template stands as a word)", () => {
    for (const shape of ALLOWED) expect(templatePositions(shape).map((u) => u.position)).toEqual(["word"]);
  });

  it.each(ALLOWED)("%s", (shape) => {
    fc.assert(
      fc.property(value, (x) => {
        const line = interpolateShell(shape, { vars: { x } });
        const r = spawnSync("sh", ["-c", line], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe(`[${x}]`);
      }),
      { numRuns: 60 },
    );
  });

  it("a value never runs as a command, whatever it holds", () => {
    fc.assert(
      fc.property(value, (x) => {
        const canary = `/tmp/haprov-canary-${process.pid}`;
        const evil = `${x}$(touch ${canary})\`touch ${canary}\`;touch ${canary}`;
        const line = interpolateShell("echo {{ vars.x }} >/dev/null", { vars: { x: evil } });
        spawnSync("sh", ["-c", line]);
        const r = spawnSync("sh", ["-c", `test -e ${canary}`]);
        expect(r.status).not.toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe("masking: a secret never appears in output, in any form", () => {
  const secret = fc.oneof(
    fc.string({
      unit: fc.constantFrom(..."abcXYZ019'\"\\$`!%&*( )-_=+[]{};:,.<>/?é"),
      minLength: 6,
      maxLength: 24,
    }),
    fc.integer({ min: 100_000, max: 2 ** 31 }),
  );

  it("plain, -v and --json output of a failure that quotes it hide it", () => {
    fc.assert(
      fc.property(secret, (s) => {
        const raw = String(s);
        const redactor = new Redactor();
        redactor.add(s);
        const forms = [raw, `'${raw.replaceAll("'", "'\\''")}'`, JSON.stringify(raw)];
        const events: RunEvent[] = [
          {
            kind: "step",
            phase: "p",
            host: "cp1",
            step: "fence",
            index: 0,
            status: "failed",
            changed: false,
            durationMs: 1,
            message: `command failed: pcs stonith create f1 fence_ipmilan password=${forms[1]}`,
            detail: `command: echo ${forms[1]}\nstdout: ${raw}\nstderr: {"password":${forms[2]}}`,
          },
        ];
        for (const verbose of [false, true]) {
          let plain = "";
          const bus = redactingBus(redactor, [
            plainRenderer((l) => void (plain += l), { verbose, showDiffs: true }),
          ]);
          events.forEach(bus);
          let json = "";
          const jbus = redactingBus(redactor, [jsonRenderer((l) => void (json += l))]);
          events.forEach(jbus);
          for (const out of [plain, json]) {
            expect(out).not.toContain(raw);
            expect(out).not.toContain(raw.replaceAll("'", "'\\''"));
            expect(out).not.toContain(JSON.stringify(raw).slice(1, -1));
          }
          expect(plain).toContain("***");
        }
      }),
      { numRuns: 120 },
    );
  });
});
