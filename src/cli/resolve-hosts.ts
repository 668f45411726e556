import { dirname, isAbsolute, resolve } from "node:path";
import type { HostSpec, JumpHost } from "../core/host.js";
import type { Inventory } from "../config/schema.js";
import { expandHome, parseJump, SshConfigFile } from "../transport/ssh-config.js";

/**
 * Inventory + ~/.ssh/config → connection details per host. Precedence, as with ssh's own
 * command line: per-host inventory value, inventory `ssh:` default, ssh_config, built-in default.
 * Relative paths in the inventory are relative to the inventory file.
 */
export async function resolveHosts(inv: Inventory, inventoryFile: string): Promise<HostSpec[]> {
  const base = dirname(inventoryFile);
  const rel = (p: string | undefined) =>
    p === undefined ? undefined : isAbsolute(expandHome(p)) ? expandHome(p) : resolve(base, p);
  const cfgPath =
    inv.ssh.sshConfig === false ? undefined : (rel(inv.ssh.sshConfig) ?? expandHome("~/.ssh/config"));
  const cfg = new SshConfigFile(cfgPath);
  const bastion: JumpHost | undefined = inv.ssh.bastion
    ? {
        address: inv.ssh.bastion.address,
        port: inv.ssh.bastion.port ?? 22,
        user: inv.ssh.bastion.user ?? inv.ssh.user ?? "root",
        identityFile: rel(inv.ssh.bastion.identityFile ?? inv.ssh.identityFile),
      }
    : undefined;
  return Promise.all(
    inv.hosts.map(async (h): Promise<HostSpec> => {
      const c = await cfg.lookup(h.address);
      const jumpSpec = c.proxyJump ? parseJump(c.proxyJump) : undefined;
      const jump = bastion ?? (jumpSpec ? await jumpFrom(jumpSpec, cfg) : undefined);
      return {
        name: h.name,
        address: h.address,
        roles: h.roles,
        interface: h.interface ?? inv.cluster.interface,
        priority: h.priority,
        vars: { ...(inv.vars ?? {}), ...(h.vars ?? {}) },
        ssh: {
          user: h.user ?? inv.ssh.user ?? c.user ?? "root",
          port: h.port ?? inv.ssh.port ?? c.port ?? 22,
          identityFile: rel(h.identityFile ?? inv.ssh.identityFile) ?? c.identityFiles[0],
          hostname: c.hostName ?? h.address,
          jump,
        },
      };
    }),
  );
}

async function jumpFrom(
  spec: { user?: string; host: string; port?: number },
  cfg: SshConfigFile,
): Promise<JumpHost> {
  const c = await cfg.lookup(spec.host);
  return {
    address: c.hostName ?? spec.host,
    port: spec.port ?? c.port ?? 22,
    user: spec.user ?? c.user ?? "root",
    identityFile: c.identityFiles[0],
  };
}
