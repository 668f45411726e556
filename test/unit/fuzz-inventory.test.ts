import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli-in-process.js";

/**
 * Property-based fuzzing of the inventory loader through the CLI (issue #8): whatever the file
 * holds, `validate` and `render` answer with exit 0 or 3 (never 1 with a stack trace), in bounded
 * time, and run nothing — hostile values carry a command that would create a canary file.
 */
const dir = mkdtempSync(join(tmpdir(), "haprov-fuzz-"));
const CANARY = join(dir, "CANARY");
const RUNS = Number(process.env.HAPROV_FUZZ_RUNS ?? 150);

const BASE = {
  cluster: { name: "fz", mode: "keepalived-haproxy", vip: "10.0.0.100", vrrpPassword: "Fz7%kq2w" },
  ssh: { user: "root", port: 22, identityFile: "~/.ssh/id_ed25519" },
  hosts: [
    { name: "cp1", address: "10.0.0.11", roles: ["control-plane"], interface: "eth0" },
    { name: "cp2", address: "10.0.0.12", roles: ["control-plane"], user: "ops" },
    { name: "cp3", address: "10.0.0.13", roles: ["control-plane"], vars: { x: "1" } },
  ],
  vars: { root: "/srv" },
};
/** Every place a value can be written, as a path into BASE. */
const FIELDS: (string | number)[][] = [
  ["cluster", "name"],
  ["cluster", "mode"],
  ["cluster", "vip"],
  ["cluster", "vipPrefix"],
  ["cluster", "interface"],
  ["cluster", "lbPort"],
  ["cluster", "apiServerPort"],
  ["cluster", "kubernetesVersion"],
  ["cluster", "podCidr"],
  ["cluster", "serviceCidr"],
  ["cluster", "cni"],
  ["cluster", "pki"],
  ["cluster", "virtualRouterId"],
  ["cluster", "vrrpPassword"],
  ["cluster", "vrrpProfile"],
  ["cluster", "strict"],
  ["ssh", "user"],
  ["ssh", "port"],
  ["ssh", "identityFile"],
  ["ssh", "password"],
  ["ssh", "knownHosts"],
  ["ssh", "sshConfig"],
  ["ssh", "sudoPasswordEnv"],
  ["ssh", "connectTimeoutMs"],
  ["ssh", "bastion"],
  ["hosts", 0, "name"],
  ["hosts", 0, "address"],
  ["hosts", 0, "roles"],
  ["hosts", 0, "priority"],
  ["hosts", 0, "interface"],
  ["hosts", 1, "user"],
  ["hosts", 1, "port"],
  ["hosts", 2, "vars", "x"],
  ["vars", "root"],
  ["vars", "__proto__"],
];

const attack = (cmd: string) => [`$(${cmd})`, `\`${cmd}\``, `; ${cmd}`, `x\n${cmd}`, `' ; ${cmd} ; '`];
const hostile = fc.oneof(
  fc.constantFrom(
    ...attack(`touch ${CANARY}`),
    "\u0000",
    "eth0\u0000",
    "ｅｔｈ０", // full-width look-alike
    "cp1\u200b", // zero-width space
    "ЕТН0", // Cyrillic look-alikes
    "'",
    '"',
    "\\",
    "#",
    "${HOME}",
    "{{ cluster.name }}",
    "x".repeat(100_000),
    "10.0.0.11/32",
    "-rf",
    "--help",
  ),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.string({ unit: "grapheme", maxLength: 64 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined), // the field left out
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
);

function withValue(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(BASE) as Record<string | number, unknown>;
  let cur = copy as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  Object.defineProperty(cur, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

let n = 0;
async function verdict(text: string): Promise<number[]> {
  const file = join(dir, `f${n++}.yaml`);
  writeFileSync(file, text);
  const codes: number[] = [];
  for (const verb of ["validate", "render"]) {
    const t0 = performance.now();
    const r = await cli([verb, "-i", file, "--json"]);
    expect(performance.now() - t0, `${verb} took too long on:\n${text.slice(0, 400)}`).toBeLessThan(2000);
    expect([0, 3], `${verb} exit ${r.code}:\n${r.stdout}${r.stderr}\non:\n${text.slice(0, 400)}`).toContain(
      r.code,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    codes.push(r.code);
  }
  expect(existsSync(CANARY)).toBe(false);
  return codes;
}

describe("inventory fuzzing", () => {
  it("a hostile value in any field: exit 0 or 3, quickly, nothing run", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), hostile, async (path, value) => {
        await verdict(stringify(withValue(path, value)));
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("random YAML documents and random bytes: exit 0 or 3", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 6 }).map((v) => stringify(v)),
          fc.string({ unit: "binary", maxLength: 400 }),
          fc.constantFrom("[".repeat(30_000), "{a: ".repeat(5000), "&a x\n".repeat(50), "- *x\n"),
        ),
        async (text) => {
          await verdict(text);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("the base inventory is valid, so the fuzzing exercises more than the parser", async () => {
    expect(await verdict(stringify(BASE))).toEqual([0, 0]);
  });
});
