import { createHmac } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * known_hosts in OpenSSH's format: plain and hashed (`|1|salt|hmac`) host patterns, wildcards,
 * negation, `[host]:port` for non-22 ports, and the @revoked marker. @cert-authority lines are
 * ignored (host certificates are not supported).
 */
export interface KnownHostEntry {
  marker: "" | "@revoked" | "@cert-authority";
  patterns: string;
  keyType: string;
  key: Buffer;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const f = line.split(/\s+/);
    const marker =
      f[0] === "@revoked" || f[0] === "@cert-authority" ? (f.shift() as KnownHostEntry["marker"]) : "";
    const [patterns, keyType, b64] = f;
    if (!patterns || !keyType || !b64) continue;
    out.push({ marker, patterns, keyType, key: Buffer.from(b64, "base64") });
  }
  return out;
}

/** The name OpenSSH looks up: `host`, or `[host]:port` when the port is not 22. */
export function lookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return re.test(name);
}

export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith("|1|")) {
    const [, , salt, hash] = patterns.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return mac === hash;
  }
  let matched = false;
  for (const p of patterns.split(",")) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The key type named inside an SSH public-key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString();
}

export type HostKeyVerdict =
  { kind: "match" } | { kind: "unknown" } | { kind: "revoked" } | { kind: "mismatch"; knownTypes: string[] };

export function verifyHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const mine = entries.filter((e) => e.marker !== "@cert-authority" && hostMatches(e.patterns, name));
  if (mine.some((e) => e.marker === "@revoked" && e.key.equals(key))) return { kind: "revoked" };
  const known = mine.filter((e) => e.marker === "");
  if (known.some((e) => e.key.equals(key))) return { kind: "match" };
  if (known.length === 0) return { kind: "unknown" };
  return {
    kind: "mismatch",
    knownTypes: [...new Set(known.map((e) => e.keyType))],
  };
}

/** Key types already known for `name`: offered first, so the server picks a key we can check. */
export function knownKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  return [
    ...new Set(entries.filter((e) => e.marker === "" && hostMatches(e.patterns, name)).map((e) => e.keyType)),
  ];
}

export class KnownHostsFile {
  private entries: KnownHostEntry[] | undefined;
  constructor(readonly path: string) {}

  async load(): Promise<KnownHostEntry[]> {
    if (!this.entries) {
      const text = await readFile(this.path, "utf8").catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return "";
        throw e;
      });
      this.entries = parseKnownHosts(text);
    }
    return this.entries;
  }

  /** Trust on first use: record the key (--accept-new-host-keys). */
  async add(name: string, key: Buffer): Promise<void> {
    const entries = await this.load();
    const entry: KnownHostEntry = {
      marker: "",
      patterns: name,
      keyType: keyTypeOf(key),
      key,
    };
    if (entries.some((e) => e.patterns === name && e.key.equals(key))) return;
    entries.push(entry);
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await appendFile(this.path, `${name} ${entry.keyType} ${key.toString("base64")}\n`, { mode: 0o600 });
  }
}
