import { createHmac, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  hostMatches,
  keyTypeOf,
  lookupName,
  parseKnownHosts,
  verifyHostKey,
} from "../../src/transport/known-hosts.js";

/** An ssh-ed25519 public-key blob as sshd sends it. */
function blob(): Buffer {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]);
}
const hashed = (name: string) => {
  const salt = randomBytes(20);
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
};
const line = (patterns: string, key: Buffer, marker = "") =>
  `${marker ? `${marker} ` : ""}${patterns} ${keyTypeOf(key)} ${key.toString("base64")}`;

describe("known_hosts", () => {
  const k1 = blob();
  const k2 = blob();
  it("matches plain, hashed, wildcard and [host]:port entries", () => {
    expect(hostMatches("10.0.0.1,cp1", "cp1")).toBe(true);
    expect(hostMatches(hashed("[127.0.0.1]:2222"), lookupName("127.0.0.1", 2222))).toBe(true);
    expect(hostMatches(hashed("127.0.0.1"), lookupName("127.0.0.1", 2222))).toBe(false);
    expect(hostMatches("10.0.0.*,!10.0.0.9", "10.0.0.5")).toBe(true);
    expect(hostMatches("10.0.0.*,!10.0.0.9", "10.0.0.9")).toBe(false);
    expect(hostMatches("cp?", "cp12")).toBe(false);
  });

  it("verdicts: match, unknown, mismatch, revoked", () => {
    const entries = parseKnownHosts(
      [`# comment`, line(hashed("cp1"), k1), line("cp2", k2, "@revoked"), line("cp3", k1), ""].join("\n"),
    );
    expect(verifyHostKey(entries, "cp1", k1)).toEqual({ kind: "match" });
    expect(verifyHostKey(entries, "cp9", k1)).toEqual({ kind: "unknown" });
    expect(verifyHostKey(entries, "cp1", k2)).toEqual({ kind: "mismatch", knownTypes: ["ssh-ed25519"] });
    expect(verifyHostKey(entries, "cp2", k2)).toEqual({ kind: "revoked" });
    expect(keyTypeOf(k1)).toBe("ssh-ed25519");
  });
});
