import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import SSHConfig from "ssh-config";

/** What haprov honours from ~/.ssh/config (the `ssh-config` package does the matching rules). */
export interface SshConfigEntry {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  proxyJump?: string;
}

export class SshConfigFile {
  private parsed: ReturnType<typeof SSHConfig.parse> | undefined;
  constructor(readonly path: string | undefined) {}

  async lookup(host: string): Promise<SshConfigEntry> {
    if (!this.path) return { identityFiles: [] };
    if (!this.parsed) {
      const text = await readFile(this.path, "utf8").catch(() => "");
      this.parsed = SSHConfig.parse(text);
    }
    const c = this.parsed.compute(host) as Record<string, string | string[] | undefined>;
    const one = (k: string) => {
      const v = c[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const idf = c.IdentityFile;
    const port = one("Port");
    const hostName = one("HostName");
    const user = one("User");
    const proxyJump = one("ProxyJump");
    return {
      ...(hostName ? { hostName: hostName.replaceAll("%h", host) } : {}),
      ...(user ? { user } : {}),
      ...(port ? { port: Number(port) } : {}),
      identityFiles: (Array.isArray(idf) ? idf : idf ? [idf] : []).map(expandHome),
      ...(proxyJump && proxyJump.toLowerCase() !== "none" ? { proxyJump } : {}),
    };
  }
}

export function expandHome(p: string): string {
  return p === "~" ? homedir() : p.startsWith("~/") ? `${homedir()}${p.slice(1)}` : p;
}

/** `user@host:port` (ProxyJump's form; only the first hop of a chain is used). */
export function parseJump(spec: string): {
  user?: string;
  host: string;
  port?: number;
} {
  const first = spec.split(",")[0]!.trim();
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(first);
  if (!m) return { host: first };
  return {
    ...(m[1] ? { user: m[1] } : {}),
    host: m[2]!.replace(/^\[|\]$/g, ""),
    ...(m[3] ? { port: Number(m[3]) } : {}),
  };
}
