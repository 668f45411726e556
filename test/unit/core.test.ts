import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { command, quote, sh } from "../../src/core/quote.js";
import { Redactor, Secret } from "../../src/core/secret.js";
import { interpolate } from "../../src/core/interpolate.js";
import { UnknownValueError } from "../../src/core/step.js";
import { finalizeScript } from "../../src/transport/ssh-connection.js";

describe("quote", () => {
  const nasty = ["plain", "", "a b", "it's", '"; rm -rf / #', "$(id)", "`id`", "a\nb", "*", "--flag=x y"];
  it.each(nasty)("a shell sees %j as one unchanged word", (v) => {
    expect(execFileSync("sh", ["-c", `printf %s ${quote(v)}`], { encoding: "utf8" })).toBe(v);
  });
  it("builds commands from words and templates", () => {
    expect(command("chown", "root:root", "/etc/a b")).toBe("chown root:root '/etc/a b'");
    expect(sh`test -e ${"/x y"} && echo ${"ok"}`).toBe("test -e '/x y' && echo ok");
  });
});

describe("Redactor and Secret", () => {
  it("masks every registered value, longest first, everywhere in a structure", () => {
    const r = new Redactor();
    r.add("abcd1234");
    r.add(new Secret("abcd1234-longer"));
    r.add("ab"); // too short to be a secret: ignored, or it would mask everything
    expect(r.redact("x abcd1234-longer y abcd1234 ab")).toBe("x *** y *** ab");
    expect(r.redactDeep({ a: ["abcd1234"], b: { c: "zabcd1234z" }, n: 3 })).toEqual({
      a: ["***"],
      b: { c: "z***z" },
      n: 3,
    });
  });
  it("a Secret never prints itself", () => {
    const s = new Secret("hunter22");
    expect(`${s}`).toBe("***");
    expect(JSON.stringify({ s })).toBe('{"s":"***"}');
    expect(s.reveal()).toBe("hunter22");
  });
});

describe("interpolate", () => {
  const scope = { host: { name: "cp1", roles: ["a", "b"] }, registered: { t: "x" } };
  it("fills paths and refuses unknown ones", () => {
    expect(interpolate("n={{ host.name }} r={{host.roles}} t={{ registered.t }}", scope)).toBe(
      "n=cp1 r=a b t=x",
    );
    expect(() => interpolate("{{ host.nmae }}", scope)).toThrow(/unknown value \{\{ host.nmae \}\}/);
    expect(() => interpolate("{{ registered.join }}", scope)).toThrow(UnknownValueError);
    expect(() => interpolate("{{ host }}", scope)).toThrow(/not a plain value/);
  });
});

describe("atomic install script", () => {
  it("validates before replacing and cleans up on failure (run locally)", async () => {
    const { mkdtempSync, writeFileSync, readFileSync, readdirSync } = await import("node:fs");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join((await import("node:os")).tmpdir(), "haprov-atomic-"));
    const live = join(dir, "app.cfg");
    writeFileSync(live, "old\n");
    const tmp = join(dir, ".app.cfg.haprov-1");
    const run = (validate: { command: string; failOnStderr?: boolean } | undefined) => {
      writeFileSync(tmp, "new\n");
      try {
        execFileSync(
          "sh",
          [
            "-c",
            finalizeScript({
              staging: tmp,
              tmp,
              path: live,
              mode: "0640",
              owner: "root",
              group: "root",
              validate,
            }),
          ],
          { stdio: "pipe" },
        );
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    expect(run({ command: "grep -q new %s && echo warning >&2", failOnStderr: true })).toBe(97);
    expect(readFileSync(live, "utf8")).toBe("old\n");
    expect(run({ command: "grep -q nope %s" })).toBe(97);
    expect(readFileSync(live, "utf8")).toBe("old\n");
    expect(readdirSync(dir)).toEqual(["app.cfg"]);
    expect(run({ command: "grep -q new %s && echo fine-on-stderr >&2" })).toBe(0);
    expect(readFileSync(live, "utf8")).toBe("new\n");
    expect(readdirSync(dir)).toEqual(["app.cfg"]);
  });
});
